-- A login storm: every request is POST /auth/login of the user scripts/bench registered.
dofile("bench/wrk/report.lua")
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"login":"storm","password":"correct horse"}'
