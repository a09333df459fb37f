"""Parses Prometheus text-format metrics from stdin with the official Python client's parser
(PyPI prometheus-client) and prints the samples as JSON: [{"name", "labels", "value"}, ...].
Run by tests/protocols.rs; a parse error exits non-zero."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": s.name,
                        "labels": s.labels, "value": s.value})
print(json.dumps(samples))
