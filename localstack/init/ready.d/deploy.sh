#!/usr/bin/env bash
# LocalStack ready hook (mounted at /etc/localstack/init/ready.d): deploys Rookery as
# template.yaml would, within what LocalStack's community edition emulates.
#   1. the secrets the template's parameters name: one per secret setting under SecretsPrefix
#      (rookery/JWT_PRIVATE_KEY, rookery/RABBITMQ_URL, rookery/REDIS_URL, ...) and the broker
#      credentials (BrokerCredentialsSecretArn, {"username", "password"}); an existing secret is
#      kept, so an edited one survives a re-run;
#   2. every function of the template from target/lambda/<name>/bootstrap.zip (provided.al2023,
#      the architecture the binary was built for), with the template's environment: for each
#      secret setting that function reads (the helper's secrets_of), <NAME>_SECRET_ID naming
#      its secret, which the function reads at start-up (LocalStack gives every function
#      AWS_ENDPOINT_URL); REDIS_URL, SMTP_URL, DATABASE_URL, NEO4J_* as USE_REDIS, USE_SMTP,
#      USE_SQL_SERVER, USE_NEO4J allow;
#   3. the HTTP functions behind a REST API (API Gateway v1: the HTTP API of the template is a
#      LocalStack Pro feature), routed as the template's HttpApi events, and each behind a
#      function URL (the HTTP API's payload 2.0);
#   4. the relay on an EventBridge schedule, every minute.
# Not emulated here: the authorizer is deployed but wired to nothing (HTTP API Lambda
# authorizers are Pro; the handlers check tokens themselves), and the Amazon MQ event sources of
# network, email, notify and fanout are Pro: the project's bridge (rookery-bridge) feeds them from
# RabbitMQ through http://localhost:4566/2015-03-31/functions/<name>/invocations.
#
# Run it again after a rebuild of the zips; it updates what exists:
#   docker compose -f localstack/compose.yaml exec localstack /etc/localstack/init/ready.d/deploy.sh
# The environment comes from localstack/compose.yaml.
set -euo pipefail

region=${AWS_DEFAULT_REGION:-us-east-1}
account=000000000000
lambda_dir=${ROOKERY_LAMBDA_DIR:-/opt/rookery/lambda}
secrets_prefix=${SECRETS_PREFIX:-rookery/}
broker_secret_id=${BROKER_SECRET_ID:-rookery/broker}
# LocalStack checks no IAM policy; the role only has to be a well-formed ARN.
role=arn:aws:iam::${account}:role/rookery-lambda
api_name=rookery
stage=local
relay_rule=rookery-relay-every-minute

log() { echo "rookery deploy: $*"; }
fail() {
  echo "rookery deploy: $*" >&2
  exit 1
}

# The functions of template.yaml: binary (= function name, as `cargo lambda watch` and the
# bridge call them), trigger, MemorySize, Timeout. scripts/lint-workflows checks this table
# against template.yaml.
function_table() {
  cat <<'FUNCTIONS'
authorizer  authorizer  128  10
register    http        256  10
login       http        256  10
profile     http        256  10
follow      http        256  10
post        http        256  10
feed-read   http        256  10
interact    http        256  10
notifications http      256  10
account     http        256  10
network     queue       256  60
email       queue       256  60
notify      queue       256  60
fanout      queue       256  60
relay       schedule    256  60
FUNCTIONS
}

# The HttpApi events of template.yaml: method, path, function, as the route table of
# shared/src/http/routes.rs declares them (tests/routes.rs holds this table to it). ANY / and
# ANY /{proxy+} stand in for the HTTP API's $default route (unknown routes and wrong methods,
# answered as problem+json). scripts/lint-workflows checks this table against template.yaml too.
route_table() {
  cat <<'ROUTES'
POST    /auth/register               register
POST    /auth/login                  login
GET     /me                          profile
GET     /users/{username}            profile
GET     /health                      profile
GET     /openapi.json                profile
ANY     /                            profile
ANY     /{proxy+}                    profile
PUT     /users/{username}/follow     follow
DELETE  /users/{username}/follow     follow
GET     /users/{username}/followers  follow
GET     /users/{username}/following  follow
PUT     /users/{username}/block      follow
DELETE  /users/{username}/block      follow
PUT     /users/{username}/mute       follow
DELETE  /users/{username}/mute       follow
GET     /me/blocks                   follow
GET     /me/mutes                    follow
POST    /posts                       post
GET     /posts/{id}                  post
DELETE  /posts/{id}                  post
GET     /feed                        feed-read
GET     /users/{username}/posts      feed-read
PUT     /posts/{id}/like             interact
DELETE  /posts/{id}/like             interact
GET     /posts/{id}/likes            interact
PUT     /posts/{id}/repost           interact
DELETE  /posts/{id}/repost           interact
GET     /posts/{id}/reposts          interact
GET     /posts/{id}/replies          interact
GET     /posts/{id}/context          interact
GET     /tags/{tag}/posts            interact
GET     /notifications               notifications
GET     /notifications/unread_count  notifications
POST    /notifications/read          notifications
PATCH   /me                          account
PUT     /me/password                 account
DELETE  /me                          account
POST    /auth/refresh                account
POST    /auth/logout                 account
GET     /.well-known/jwks.json       account
GET     /users                       account
ROUTES
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# JSON and zip handling, with the Python LocalStack's image runs on.
cat >"$work/helper.py" <<'PY'
import json, os, sys, urllib.parse, zipfile

def flag(name):
    value = os.environ.get(name, "false")
    if value not in ("true", "false"):
        sys.exit(f"{name} must be true or false, not {value!r}")
    return value == "true"

command, args = sys.argv[1], sys.argv[2:]
if command == "broker-secret":
    # The broker user of RABBITMQ_URL, in the format of Lambda's Amazon MQ event source.
    url = urllib.parse.urlsplit(os.environ["RABBITMQ_URL"])
    print(json.dumps({"username": urllib.parse.unquote(url.username or ""),
                      "password": urllib.parse.unquote(url.password or "")}))
elif command == "environment":
    # template.yaml's environment of one function: the Globals' settings and where the
    # function's own secrets are (rookery::lambda::wire::SECRETS; tests/template.rs holds this
    # table to it).
    prefix, trigger, name = args
    def from_secret(key):
        return prefix + key
    secrets_of = {
        "authorizer": [],
        "register": ["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"],
        "login": ["DATABASE_URL", "REDIS_URL", "JWT_PRIVATE_KEY"],
        "profile": ["DATABASE_URL", "NEO4J_PASSWORD"],
        "follow": ["DATABASE_URL", "NEO4J_PASSWORD", "REDIS_URL", "RABBITMQ_URL"],
        "post": ["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"],
        "feed-read": ["DATABASE_URL", "NEO4J_PASSWORD", "REDIS_URL"],
        "interact": ["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"],
        "notifications": ["DATABASE_URL", "REDIS_URL"],
        "account": ["DATABASE_URL", "NEO4J_PASSWORD", "REDIS_URL", "RABBITMQ_URL", "JWT_PRIVATE_KEY"],
        "notify": ["DATABASE_URL", "RABBITMQ_URL"],
        "network": ["DATABASE_URL", "NEO4J_PASSWORD", "RABBITMQ_URL"],
        "email": ["DATABASE_URL", "SMTP_URL", "RABBITMQ_URL"],
        "fanout": ["DATABASE_URL", "NEO4J_PASSWORD", "REDIS_URL", "RABBITMQ_URL"],
        "relay": ["DATABASE_URL", "RABBITMQ_URL"],
    }
    if name not in secrets_of:
        sys.exit(f"{name}: no secrets listed for this function")
    uses = set(secrets_of[name])
    env = {}
    for key in ("JWT_PRIVATE_KEY", "RABBITMQ_URL"):
        if key in uses:
            env[key + "_SECRET_ID"] = from_secret(key)
    for key, use in (("REDIS_URL", "USE_REDIS"), ("SMTP_URL", "USE_SMTP"), ("DATABASE_URL", "USE_SQL_SERVER")):
        if key in uses and flag(use):
            env[key + "_SECRET_ID"] = from_secret(key)
    if "NEO4J_PASSWORD" in uses and flag("USE_NEO4J"):
        env["NEO4J_URI"] = os.environ["NEO4J_URI"]
        env["NEO4J_USER"] = os.environ.get("NEO4J_USER", "neo4j")
        env["NEO4J_PASSWORD_SECRET_ID"] = from_secret("NEO4J_PASSWORD")
    settings = {"MAIL_FROM": "Rookery <no-reply@rookery.local>", "BCRYPT_COST": "12",
                "JWT_TTL_SECONDS": "900", "REFRESH_TTL_DAYS": "30", "FEED_CAP": "800", "FANOUT_THRESHOLD": "10000",
                "FEED_TTL_DAYS": "30", "RUST_LOG": "info"}
    for key, default in settings.items():
        env[key] = os.environ.get(key) or default
    # The public keys are no secret: every function gets them, as from template.yaml's Globals.
    with open(os.environ["JWKS_FILE"]) as jwks:
        env["JWT_PUBLIC_KEYS"] = jwks.read().strip()
    env["LOG_FORMAT"] = "json"
    env["ROOKERY_DATA_DIR"] = "/tmp/rookery"
    if trigger == "http":
        # A REST API's events carry the stage ("local") in requestContext, and lambda_http would
        # put it before the path; the HTTP API's $default stage and function URLs do not.
        env["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"] = "true"
    print(json.dumps({"Variables": env}))
elif command == "jwks":
    # The JWK Set of the Ed25519 private key (PKCS#8 PEM) in file args[0], kid = its RFC 7638
    # thumbprint, as rookery's KeySet reads it. `cryptography` ships with LocalStack's image.
    import base64, hashlib
    from cryptography.hazmat.primitives import serialization
    with open(args[0], "rb") as pem:
        key = serialization.load_pem_private_key(pem.read(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    print(json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}]}))
elif command == "new-key":
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    print(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode(), end="")
elif command == "architecture":
    # The Lambda architecture of the zip's bootstrap, from its ELF header (e_machine).
    with zipfile.ZipFile(args[0]) as z:
        head = z.read("bootstrap")[:20]
    if head[:4] != b"\x7fELF":
        sys.exit(f"{args[0]}: bootstrap is not an ELF binary")
    machine = int.from_bytes(head[18:20], "little")
    architectures = {183: "arm64", 62: "x86_64"}
    if machine not in architectures:
        sys.exit(f"{args[0]}: bootstrap is for ELF machine {machine}, neither arm64 nor x86_64")
    print(architectures[machine])
else:
    sys.exit(f"unknown command {command}")
PY
helper() { python3 "$work/helper.py" "$@"; }

# Creates the secret $1 with the text in file $2 unless it exists.
ensure_secret() {
  local name=$1 file=$2
  if awslocal secretsmanager describe-secret --secret-id "$name" >/dev/null 2>&1; then
    log "secret $name: exists, kept"
  else
    awslocal secretsmanager create-secret --name "$name" --secret-string "file://$file" >/dev/null
    log "secret $name: created"
  fi
}

# Creates or updates the function $1 (trigger $2, memory $3 MB, timeout $4 s).
deploy_function() {
  local name=$1 trigger=$2 memory=$3 timeout=$4
  local zip=$lambda_dir/$name/bootstrap.zip env=$work/env-$name.json arch
  [[ -f $zip ]] || fail "$zip is missing: build the zips first," \
    "cargo lambda build --profile functions --x86-64 --output-format zip (or --arm64 on an arm64 host)"
  arch=$(helper architecture "$zip")
  helper environment "$secrets_prefix" "$trigger" "$name" >"$env"
  if awslocal lambda get-function --function-name "$name" >/dev/null 2>&1; then
    awslocal lambda update-function-code --function-name "$name" --zip-file "fileb://$zip" \
      --architectures "$arch" >/dev/null
    awslocal lambda wait function-updated-v2 --function-name "$name"
    awslocal lambda update-function-configuration --function-name "$name" \
      --memory-size "$memory" --timeout "$timeout" --environment "file://$env" >/dev/null
    awslocal lambda wait function-updated-v2 --function-name "$name"
    log "function $name ($trigger, $arch): updated"
  else
    awslocal lambda create-function --function-name "$name" --runtime provided.al2023 \
      --handler bootstrap --architectures "$arch" --role "$role" --zip-file "fileb://$zip" \
      --memory-size "$memory" --timeout "$timeout" --environment "file://$env" >/dev/null
    awslocal lambda wait function-active-v2 --function-name "$name"
    log "function $name ($trigger, $arch): created"
  fi
}

# REST API resources by path; ensure_resource leaves the id of the resource at $1 in REPLY,
# creating it and its missing parents.
declare -A resources=()
ensure_resource() {
  local path=$1 parent
  if [[ -n ${resources[$path]:-} ]]; then
    REPLY=${resources[$path]}
    return
  fi
  parent=${path%/*}
  ensure_resource "${parent:-/}"
  REPLY=$(awslocal apigateway create-resource --rest-api-id "$api_id" --parent-id "$REPLY" \
    --path-part "${path##*/}" --query id --output text)
  resources[$path]=$REPLY
}

# --- 1. secrets ------------------------------------------------------------------------------
# One secret per setting, from compose.yaml's environment; a setting left empty there (say
# DATABASE_URL without SQL Server) gets no secret, and no function is pointed to one.
# The token key: the one kept from an earlier run, else JWT_PRIVATE_KEY from compose.yaml, else
# a new one. Its public half becomes JWT_PUBLIC_KEYS of every function.
key_secret=${secrets_prefix}JWT_PRIVATE_KEY
if awslocal secretsmanager describe-secret --secret-id "$key_secret" >/dev/null 2>&1; then
  JWT_PRIVATE_KEY=$(awslocal secretsmanager get-secret-value --secret-id "$key_secret" \
    --query SecretString --output text)
elif [[ -z ${JWT_PRIVATE_KEY:-} ]]; then
  JWT_PRIVATE_KEY=$(helper new-key)
fi
printf '%s\n' "$JWT_PRIVATE_KEY" >"$work/jwt-private-key.pem"
export JWKS_FILE=$work/jwks.json
helper jwks "$work/jwt-private-key.pem" >"$JWKS_FILE"
for key in JWT_PRIVATE_KEY RABBITMQ_URL REDIS_URL SMTP_URL DATABASE_URL NEO4J_PASSWORD; do
  [[ -n ${!key:-} ]] || continue
  printf '%s' "${!key}" >"$work/secret-$key"
  ensure_secret "$secrets_prefix$key" "$work/secret-$key"
done
helper broker-secret >"$work/broker-secret.json"
ensure_secret "$broker_secret_id" "$work/broker-secret.json"
broker_secret_arn=$(awslocal secretsmanager describe-secret --secret-id "$broker_secret_id" \
  --query ARN --output text)

# --- 2. functions ----------------------------------------------------------------------------
while read -r name trigger memory timeout; do
  deploy_function "$name" "$trigger" "$memory" "$timeout"
done < <(function_table)

# --- 3. REST API and function URLs -----------------------------------------------------------
# One API of that name: drop what an earlier run made. _custom_id_ asks LocalStack for a stable
# id, so that the URL stays the same from one start to the next.
for old in $(awslocal apigateway get-rest-apis --query "items[?name=='$api_name'].id" --output text); do
  awslocal apigateway delete-rest-api --rest-api-id "$old"
done
api_id=$(awslocal apigateway create-rest-api --name "$api_name" --tags _custom_id_=rookery \
  --description "Rookery's HTTP API (template.yaml's HttpApi), as a REST API" \
  --query id --output text)
resources["/"]=$(awslocal apigateway get-resources --rest-api-id "$api_id" \
  --query "items[?path=='/'].id" --output text)
while read -r method path name; do
  ensure_resource "$path"
  awslocal apigateway put-method --rest-api-id "$api_id" --resource-id "$REPLY" \
    --http-method "$method" --authorization-type NONE >/dev/null
  awslocal apigateway put-integration --rest-api-id "$api_id" --resource-id "$REPLY" \
    --http-method "$method" --type AWS_PROXY --integration-http-method POST \
    --uri "arn:aws:apigateway:$region:lambda:path/2015-03-31/functions/arn:aws:lambda:$region:$account:function:$name/invocations" \
    >/dev/null
done < <(route_table)
awslocal apigateway create-deployment --rest-api-id "$api_id" --stage-name "$stage" >/dev/null
log "REST API $api_id: $(route_table | wc -l) routes, stage $stage"

function_urls=""
while read -r name trigger _; do
  [[ $trigger == http ]] || continue
  url=$(awslocal lambda get-function-url-config --function-name "$name" --query FunctionUrl \
    --output text 2>/dev/null) ||
    url=$(awslocal lambda create-function-url-config --function-name "$name" --auth-type NONE \
      --query FunctionUrl --output text)
  function_urls+=$(printf '\n    %-10s %s' "$name" "$url")
done < <(function_table)

# --- 4. the relay's schedule -----------------------------------------------------------------
awslocal events put-rule --name "$relay_rule" --schedule-expression "rate(1 minute)" \
  --description "Republish Rookery's unconfirmed outbox events" >/dev/null
awslocal events put-targets --rule "$relay_rule" \
  --targets "Id=relay,Arn=arn:aws:lambda:$region:$account:function:relay" >/dev/null
log "relay: scheduled every minute (EventBridge rule $relay_rule)"

cat <<EOF
rookery deploy: done.
  API (every route):   http://localhost:4566/_aws/execute-api/$api_id/$stage/health
                       http://$api_id.execute-api.localhost.localstack.cloud:4566/$stage/health
  function URLs (each serves its own routes, with the HTTP API's payload 2.0):$function_urls
  invoke any function: POST http://localhost:4566/2015-03-31/functions/<name>/invocations
  queue consumers:     network, email, notify, fanout: fed by the bridge, run with
                       BRIDGE_INVOKE_URL=http://localhost:4566
  secrets:             ${secrets_prefix}<NAME>, $broker_secret_arn
  mail:                http://localhost:1080
EOF
