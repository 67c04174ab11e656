#!/usr/bin/python3
"""The generated connector_config_schema.json files (deploy/opencti) are valid JSON Schema 2020-12
documents that accept the environment deploy/config.yml.sample describes and reject wrong types.

Run by ctest with Debian's python3-jsonschema and python3-yaml (deploy/install-deps.sh installs them):
    /usr/bin/python3 tests/config/catalogue_schema_test.py <source dir>
Prints 'N passed, M failed' and exits 1 when any check fails.
"""
import copy
import json
import pathlib
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
SCHEMAS = sorted((ROOT / "deploy" / "opencti").glob("*/*/__metadata__/connector_config_schema.json"))
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    results["passed" if condition else "failed"] += 1
    print(("ok   " if condition else "FAIL ") + name + ((": " + detail) if detail and not condition else ""))


def sample_environment():
    """The sample config as the environment a catalogue form would produce: SECTION_KEY -> typed value."""
    config = yaml.safe_load((ROOT / "deploy" / "config.yml.sample").read_text())
    environment = {}
    for section, keys in config.items():
        for key, value in (keys or {}).items():
            environment[f"{section}_{key}".upper()] = value
    return environment


def errors(validator, instance):
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(instance)]


check("two schemas generated (feed and enrichment)", len(SCHEMAS) == 2, str(SCHEMAS))
for path in SCHEMAS:
    kind = path.parent.parent.parent.name
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    check(f"{kind}: declares JSON Schema 2020-12", schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema")

    environment = sample_environment()
    environment["CONNECTOR_TYPE"] = schema["properties"]["CONNECTOR_TYPE"]["const"]
    environment.setdefault("OPENTIP_API_KEY", "opentip-key-0123456789abcdef")
    problems = errors(validator, environment)
    check(f"{kind}: accepts the sample config's environment", not problems, "; ".join(problems))

    for name, bad in [("CONNECTOR_CONFIDENCE_LEVEL", "high"), ("CONNECTOR_EXPOSE_METRICS", "maybe"),
                      ("CONNECTOR_LOG_LEVEL", "loud"), ("CONNECTOR_METRICS_PORT", 70000)]:
        if name not in schema["properties"]:
            continue
        wrong = copy.deepcopy(environment)
        wrong[name] = bad
        check(f"{kind}: rejects {name}={bad!r}", any(p.startswith(name) for p in errors(validator, wrong)))

    without_token = copy.deepcopy(environment)
    token = "KASPERSKY_API_TOKEN" if kind == "external-import" else "OPENTIP_API_KEY"
    without_token.pop(token, None)
    check(f"{kind}: requires {token}", bool(errors(validator, without_token)))
    without_token[token + "_FILE"] = "/run/secrets/token"
    check(f"{kind}: accepts {token}_FILE instead", not errors(validator, without_token))

    secrets = [n for n, p in schema["properties"].items() if p.get("writeOnly")]
    check(f"{kind}: secrets are format password + writeOnly",
          token in secrets and "OPENCTI_TOKEN" in secrets and
          all(schema["properties"][n].get("format") == "password" for n in secrets))
    undocumented = [n for n, p in schema["properties"].items() if not p.get("description")]
    check(f"{kind}: every property has a description", not undocumented, ", ".join(undocumented))

print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
