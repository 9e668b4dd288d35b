#!/usr/bin/env python3
"""Copies infra/dashboard.json into the template's dashboard body (`make dashboard`).

CloudFormation cannot read a local file into a DashboardBody, so the template carries a copy;
`make validate` fails when the two differ."""
import json
import pathlib
import re

infra = pathlib.Path(__file__).resolve().parent
body = json.loads((infra / "dashboard.json").read_text())
text = json.dumps(body, indent=2)
template = infra / "template.yaml"
source = template.read_text()
pattern = re.compile(
    r"(      DashboardBody: !Sub\n        - \|\n)(.*?)(\n        - EcsClusterName:)", re.S
)
if not pattern.search(source):
    raise SystemExit("template.yaml: the Dashboard's `DashboardBody: !Sub` block was not found")
indented = "\n".join(("          " + line) if line else "" for line in text.splitlines())
template.write_text(pattern.sub(lambda m: m.group(1) + indented + m.group(3), source, count=1))
print(f"copied {infra / 'dashboard.json'} into {template}")
