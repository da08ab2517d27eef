#!/usr/bin/env python3
"""Checks that template.yaml deploys exactly the workspace's function binaries.

The workspace side, in either layout:
- every directory functions/*/ with a Cargo.toml is a package; its binaries are its [[bin]]
  names, or, without [[bin]], one binary named after the package;
- the root Cargo.toml's own package: its [[bin]] targets whose path is under functions/ (the
  local server's binary, elsewhere, is no function).

The template side: every AWS::Serverless::Function (and AWS::Lambda::Function) names its binary
in Metadata.BuildProperties.Binary.

It fails, naming what is wrong, unless
- every binary has exactly one function and every function has a binary;
- every function builds with Metadata.BuildMethod rust-cargolambda, from CodeUri = the directory
  of the package that defines its binary (`.` for the root package), since cargo lambda builds
  `--bin <Binary>` in CodeUri and cargo looks for it only in the package(s) selected there;
- every function runs on provided.al2023 and arm64, set on the function or in Globals.Function.

Usage:
  scripts/check-template.py [--root DIR] [--template FILE]   check (defaults: the repository
                                                              and DIR/template.yaml)
  scripts/check-template.py --self-test [--template FILE]    show that the check fails when a
                                                              function or a binary is missing
  scripts/check-template.py --translate OUT [--template FILE]
      write the template as CloudFormation, translated offline by the SAM transform
      (aws-sam-translator), local CodeUris replaced by placeholder S3 locations as `sam validate`
      does: cfn-lint checks SAM resources only against SAM's schemas, so scripts/lint-template
      lints this translation too, where references and limits are checked on the real resources
Needs Python 3.11 (tomllib) and PyYAML, and aws-sam-translator for --translate (cfn-lint and
the SAM CLI bring them: scripts/lint-template runs this with the venv's Python).
"""

from __future__ import annotations

import argparse
import json
import posixpath
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
BUILD_METHOD = "rust-cargolambda"
RUNTIME = "provided.al2023"
ARCHITECTURES = ["arm64"]


class CheckError(Exception):
    """The template or the workspace cannot be read at all."""


# --- reading the template -------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt,
    !If, ...) as their long forms instead of failing on them."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as f:
            template = yaml.load(f, Loader=CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    except OSError as e:
        raise CheckError(f"cannot read {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise CheckError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise CheckError(f"{path} has no Resources section")
    return template


# --- reading the workspace ------------------------------------------------------------------


@dataclass(frozen=True)
class Binary:
    name: str
    package: str
    directory: str  # relative to the workspace root, e.g. functions/feed-read


def _normalized_path(value: object) -> object:
    if not isinstance(value, str):
        return value
    return posixpath.normpath(value.replace("\\", "/")).removeprefix("./")


def _read_manifest(root: Path, manifest: Path) -> dict:
    try:
        with manifest.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CheckError(f"{manifest.relative_to(root).as_posix()} cannot be read: {e}") from e


def _bin_names(cargo: dict, where: str) -> list[dict]:
    bins = cargo.get("bin", [])
    if not isinstance(bins, list) or not all(
        isinstance(b, dict) and isinstance(b.get("name"), str) for b in bins
    ):
        raise CheckError(f"{where} has a [[bin]] without a name")
    return bins


def workspace_binaries(root: Path) -> list[Binary]:
    """The function binaries of root's workspace: those of every functions/*/Cargo.toml, and
    those of the root package whose source is under functions/."""
    binaries = []
    for manifest in sorted(root.glob("functions/*/Cargo.toml")):
        directory = manifest.parent.relative_to(root).as_posix()
        cargo = _read_manifest(root, manifest)
        package = cargo.get("package", {}).get("name")
        if not isinstance(package, str):
            raise CheckError(f"{directory}/Cargo.toml has no [package] name")
        bins = _bin_names(cargo, f"{directory}/Cargo.toml")
        names = [b["name"] for b in bins] if "bin" in cargo else [package]
        binaries += [Binary(name, package, directory) for name in names]
    root_manifest = root / "Cargo.toml"
    if root_manifest.is_file():
        cargo = _read_manifest(root, root_manifest)
        package = cargo.get("package", {}).get("name")
        if isinstance(package, str):
            for b in _bin_names(cargo, "Cargo.toml"):
                path = _normalized_path(b.get("path", ""))
                if isinstance(path, str) and path.startswith("functions/"):
                    binaries.append(Binary(b["name"], package, "."))
    return binaries


# --- the check ------------------------------------------------------------------------------


def check(template: dict, binaries: list[Binary], template_name: str = "template.yaml") -> list[str]:
    """Every problem found, each naming its function or binary; empty when all is well."""
    errors: list[str] = []
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    functions = {
        name: resource
        for name, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") in FUNCTION_TYPES
    }

    by_name: dict[str, list[Binary]] = {}
    for binary in binaries:
        by_name.setdefault(binary.name, []).append(binary)
    for name, owners in sorted(by_name.items()):
        if len(owners) > 1:
            packages = ", ".join(f"{b.package} ({b.directory})" for b in owners)
            errors.append(
                f"binary `{name}` is defined by several packages: {packages}; cargo lambda builds "
                f"every binary into target/lambda/<name>, so names must be unique"
            )

    functions_of_binary: dict[str, list[str]] = {}
    for logical_id, resource in functions.items():
        metadata = resource.get("Metadata") or {}
        properties = resource.get("Properties") or {}
        what = f"function {logical_id}"
        if metadata.get("BuildMethod") != BUILD_METHOD:
            errors.append(
                f"{what}: Metadata.BuildMethod is {metadata.get('BuildMethod')!r}, "
                f"expected {BUILD_METHOD!r}"
            )
        runtime = properties.get("Runtime", globals_fn.get("Runtime"))
        if runtime != RUNTIME:
            errors.append(
                f"{what}: Runtime is {runtime!r} (on the function or in Globals.Function), "
                f"expected {RUNTIME!r}"
            )
        # SAM replaces Globals' Architectures with the function's own list.
        architectures = properties.get("Architectures", globals_fn.get("Architectures"))
        if architectures != ARCHITECTURES:
            errors.append(
                f"{what}: Architectures is {architectures!r} (on the function or in "
                f"Globals.Function), expected {ARCHITECTURES!r}"
            )
        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if not isinstance(binary, str) or not binary:
            errors.append(f"{what}: Metadata.BuildProperties.Binary names no binary")
            continue
        functions_of_binary.setdefault(binary, []).append(logical_id)
        owners = by_name.get(binary)
        if not owners:
            errors.append(
                f"{what}: its binary `{binary}` is defined nowhere (no such [[bin]] in "
                f"functions/*/Cargo.toml or, with a path under functions/, in Cargo.toml; nor a "
                f"functions/ package without [[bin]] named so)"
            )
            continue
        code_uri = _normalized_path(properties.get("CodeUri", globals_fn.get("CodeUri")))
        directories = sorted({b.directory for b in owners})
        if code_uri not in directories:
            errors.append(
                f"{what}: CodeUri is {code_uri!r}, expected {directories[0]!r}, the directory of "
                f"{owners[0].package}, which defines binary `{binary}` (cargo lambda builds "
                f"`--bin {binary}` in CodeUri, where cargo searches only the selected packages)"
            )

    for name in sorted(by_name):
        owners = by_name[name]
        where = f"{owners[0].directory}, package {owners[0].package}"
        functions_for = functions_of_binary.get(name, [])
        if not functions_for:
            errors.append(
                f"binary `{name}` ({where}) has no function in {template_name} "
                f"(none with Metadata.BuildProperties.Binary: {name})"
            )
        elif len(functions_for) > 1:
            errors.append(
                f"binary `{name}` ({where}) has {len(functions_for)} functions in "
                f"{template_name}: {', '.join(sorted(functions_for))}; expected exactly one"
            )
    return errors


def run_check(root: Path, template_path: Path) -> int:
    try:
        template = load_template(template_path)
        binaries = workspace_binaries(root)
    except CheckError as e:
        print(f"check-template: {e}", file=sys.stderr)
        return 1
    errors = check(template, binaries, template_path.name)
    if not binaries:
        errors.append(
            f"no function binary under {root}: no functions/*/Cargo.toml, and no [[bin]] with a "
            f"path under functions/ in Cargo.toml"
        )
    for error in errors:
        print(f"check-template: {error}", file=sys.stderr)
    if errors:
        print(f"check-template: {len(errors)} problem(s) in {template_path}", file=sys.stderr)
        return 1
    print(f"check-template: OK, {len(binaries)} function binaries, one function each in {template_path}")
    return 0


# --- the translation -----------------------------------------------------------------------


def translate(template_path: Path, out: Path) -> int:
    """Writes the CloudFormation that the SAM transform makes of the template, offline."""
    import importlib.resources  # noqa: PLC0415

    from samtranslator.translator.transform import transform  # noqa: PLC0415

    try:
        template = load_template(template_path)
    except CheckError as e:
        print(f"check-template: {e}", file=sys.stderr)
        return 1
    template = json.loads(json.dumps(template))
    # The local build directories become placeholder S3 locations, as `sam validate` does.
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = "s3://placeholder-bucket/globals.zip"
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if (
            resource.get("Type") == "AWS::Serverless::Function"
            and isinstance(properties, dict)
            and isinstance(properties.get("CodeUri"), str)
            and not properties["CodeUri"].startswith("s3://")
        ):
            properties["CodeUri"] = f"s3://placeholder-bucket/{logical_id}.zip"

    class BundledManagedPolicies:
        """The AWS managed policies' ARNs that aws-sam-translator ships: no call to IAM."""

        def load(self) -> dict[str, str]:
            data = importlib.resources.files("samtranslator") / "internal/data/aws_managed_policies.json"
            return json.loads(data.read_text())["aws"]

    try:
        translated = transform(template, {}, BundledManagedPolicies())
    except Exception as e:  # noqa: BLE001 (the translator's errors have no common base)
        print(f"check-template: the SAM transform failed on {template_path}: {e}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(translated, indent=1) + "\n")
    print(f"check-template: {template_path} translated to {out} ({len(translated['Resources'])} resources)")
    return 0


# --- the self-test --------------------------------------------------------------------------


def _fake_workspace(root: Path, template: dict) -> None:
    """A workspace laid out as the template's functions expect: for CodeUri `.`, a root package
    with a [[bin]] functions/<binary>/main.rs per function (and the local server's binary,
    which is no function); for any other CodeUri, a package there with the function's [[bin]]."""
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    bins_by_dir: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        if not isinstance(resource, dict) or resource.get("Type") not in FUNCTION_TYPES:
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        properties = resource.get("Properties") or {}
        directory = str(_normalized_path(properties.get("CodeUri", globals_fn.get("CodeUri"))))
        bins_by_dir.setdefault(directory, []).append(binary)
    for directory, bins in bins_by_dir.items():
        if directory == ".":
            manifest = '[package]\nname = "rookery-bins"\nversion = "0.1.0"\n'
            manifest += '\n[[bin]]\nname = "rookery"\npath = "local/main.rs"\n'
            for binary in bins:
                manifest += f'\n[[bin]]\nname = "{binary}"\npath = "functions/{binary}/main.rs"\n'
        else:
            manifest = f'[package]\nname = "rookery-fn-{bins[0]}"\nversion = "0.1.0"\n'
            for binary in bins:
                manifest += f'\n[[bin]]\nname = "{binary}"\npath = "src/{binary}.rs"\n'
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory / "Cargo.toml").write_text(manifest)


def self_test(template_path: Path) -> int:
    failures: list[str] = []

    def expect(label: str, ok: bool, detail: str = "") -> None:
        print(f"check-template self-test: {'ok  ' if ok else 'FAIL'} {label}")
        if not ok:
            failures.append(f"{label}: {detail}")

    try:
        template = load_template(template_path)
    except CheckError as e:
        print(f"check-template: {e}", file=sys.stderr)
        return 1
    function_ids = sorted(
        name
        for name, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") in FUNCTION_TYPES
    )
    if len(function_ids) < 2:
        print("check-template self-test: the template needs at least two functions", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="check-template.") as tmp:
        root = Path(tmp) / "workspace"
        _fake_workspace(root, template)
        binaries = workspace_binaries(root)
        binary_of = {
            fid: template["Resources"][fid]["Metadata"]["BuildProperties"]["Binary"]
            for fid in function_ids
        }

        errors = check(template, binaries)
        expect("the template against a matching workspace passes", not errors, "; ".join(errors))

        # Each function removed in turn: the check names the binary left without a function.
        for fid in function_ids:
            copy = json.loads(json.dumps(template))
            del copy["Resources"][fid]
            errors = check(copy, binaries)
            named = any(f"binary `{binary_of[fid]}`" in e and "has no function" in e for e in errors)
            expect(f"without function {fid}, binary `{binary_of[fid]}` is reported", named, "; ".join(errors) or "passed")

        # The command itself, on a temporary copy of the template without one function: exits
        # non-zero and names the binary.
        removed = function_ids[-1]
        copy = json.loads(json.dumps(template))
        del copy["Resources"][removed]
        copy_path = Path(tmp) / "template-without-one-function.yaml"
        copy_path.write_text(json.dumps(copy, indent=1))  # JSON is YAML, and a valid template
        result = subprocess.run(
            [sys.executable, __file__, "--root", str(root), "--template", str(copy_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        expect(
            f"the command on a template copy without {removed} exits non-zero naming `{binary_of[removed]}`",
            result.returncode != 0 and f"binary `{binary_of[removed]}`" in result.stderr,
            f"exit {result.returncode}, stderr: {result.stderr.strip()}",
        )

        # A binary removed: the check names the function left without one.
        victim = function_ids[0]
        errors = check(template, [b for b in binaries if b.name != binary_of[victim]])
        expect(
            f"without binary `{binary_of[victim]}`, function {victim} is reported",
            any(e.startswith(f"function {victim}:") and "defined nowhere" in e for e in errors),
            "; ".join(errors) or "passed",
        )

        # An extra package with no [[bin]]: its binary is the package name, and has no function.
        extra = root / "functions" / "extra"
        extra.mkdir(parents=True)
        (extra / "Cargo.toml").write_text('[package]\nname = "rookery-fn-extra"\nversion = "0.1.0"\n')
        result = subprocess.run(
            [sys.executable, __file__, "--root", str(root), "--template", str(template_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        expect(
            "an extra package without [[bin]] is reported as binary `rookery-fn-extra`",
            result.returncode != 0 and "binary `rookery-fn-extra`" in result.stderr,
            f"exit {result.returncode}, stderr: {result.stderr.strip()}",
        )
        (extra / "Cargo.toml").unlink()

        # A second function for the same binary, and the wrong build settings.
        copy = json.loads(json.dumps(template))
        twin = json.loads(json.dumps(copy["Resources"][victim]))
        twin.setdefault("Properties", {})["Architectures"] = ["x86_64"]
        twin["Metadata"]["BuildMethod"] = "makefile"
        copy["Resources"]["TwinFunction"] = twin
        errors = check(copy, binaries)
        expect(
            f"a second function for `{binary_of[victim]}` is reported",
            any("has 2 functions" in e and "TwinFunction" in e for e in errors),
            "; ".join(errors) or "passed",
        )
        expect(
            "x86_64 and a non-cargo-lambda build method are reported",
            any(e.startswith("function TwinFunction: Architectures") for e in errors)
            and any(e.startswith("function TwinFunction: Metadata.BuildMethod") for e in errors),
            "; ".join(errors) or "passed",
        )

        # A CodeUri that is not the directory of the binary's package.
        copy = json.loads(json.dumps(template))
        copy["Resources"][victim].setdefault("Properties", {})["CodeUri"] = "elsewhere"
        errors = check(copy, binaries)
        expect(
            f"CodeUri 'elsewhere' on {victim} is reported",
            any(e.startswith(f"function {victim}: CodeUri") for e in errors),
            "; ".join(errors) or "passed",
        )

        # The other layout: one package per function, functions/<binary>/Cargo.toml.
        per_package = json.loads(json.dumps(template))
        for fid in function_ids:
            per_package["Resources"][fid].setdefault("Properties", {})["CodeUri"] = f"functions/{binary_of[fid]}"
        root2 = Path(tmp) / "per-package"
        _fake_workspace(root2, per_package)
        binaries2 = workspace_binaries(root2)
        errors = check(per_package, binaries2)
        expect("one package per function, CodeUri functions/<name>: passes", not errors, "; ".join(errors))
        per_package["Resources"][victim]["Properties"]["CodeUri"] = "."
        errors = check(per_package, binaries2)
        expect(
            f"one package per function: CodeUri '.' on {victim} is reported",
            any(e.startswith(f"function {victim}: CodeUri") for e in errors),
            "; ".join(errors) or "passed",
        )

    if failures:
        for failure in failures:
            print(f"check-template self-test: {failure}", file=sys.stderr)
        return 1
    print("check-template self-test: all passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO, help="workspace root (default: this repository)")
    parser.add_argument("--template", type=Path, help="the SAM template (default: ROOT/template.yaml)")
    parser.add_argument("--self-test", action="store_true", help="check that the check fails when it should")
    parser.add_argument("--translate", type=Path, metavar="OUT", help="write the SAM-translated template to OUT")
    args = parser.parse_args()
    template = args.template or args.root / "template.yaml"
    if args.translate:
        return translate(template, args.translate)
    if args.self_test:
        return self_test(template)
    return run_check(args.root, template)


if __name__ == "__main__":
    sys.exit(main())
