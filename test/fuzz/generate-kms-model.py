"""
Writes test/fuzz/kms-model.json: botocore's AWS KMS API model (service-2.json, 2014-11-01) cut
down to what the fuzz suite needs: every operation's input shape, output shape and error shapes,
and every shape they reach, without documentation. The fuzz suite reads the JSON file, not
botocore, so it runs where Python's botocore is not installed.

Run from the repo root (after a botocore upgrade, to follow AWS's model):
    python3 test/fuzz/generate-kms-model.py
"""
from __future__ import annotations

import gzip
import json
import os
import sys

import botocore

KEEP = ('type', 'required', 'min', 'max', 'pattern', 'enum', 'sensitive', 'box', 'exception', 'fault', 'error')


def main() -> None:
    path = os.path.join(os.path.dirname(botocore.__file__), 'data', 'kms', '2014-11-01', 'service-2.json.gz')
    with gzip.open(path, 'rt', encoding='utf-8') as f:
        model = json.load(f)
    shapes = model['shapes']
    out_shapes: dict[str, dict] = {}

    def visit(name: str) -> None:
        if name in out_shapes:
            return
        src = shapes[name]
        shape = {k: src[k] for k in KEEP if k in src}
        out_shapes[name] = shape
        if src['type'] == 'structure':
            shape['members'] = {m: {'shape': ref['shape']} for m, ref in src['members'].items()}
            for ref in src['members'].values():
                visit(ref['shape'])
        elif src['type'] == 'list':
            shape['member'] = src['member']['shape']
            visit(src['member']['shape'])
        elif src['type'] == 'map':
            shape['key'] = src['key']['shape']
            shape['value'] = src['value']['shape']
            visit(src['key']['shape'])
            visit(src['value']['shape'])

    operations = {}
    for name in sorted(model['operations']):
        op = model['operations'][name]
        entry = {
            'input': op['input']['shape'] if 'input' in op else None,
            'output': op['output']['shape'] if 'output' in op else None,
            'errors': sorted(e['shape'] for e in op.get('errors', [])),
        }
        for key in ('input', 'output'):
            if entry[key]:
                visit(entry[key])
        for e in entry['errors']:
            visit(e)
        operations[name] = entry

    result = {
        'source': f'botocore {botocore.__version__}, data/kms/2014-11-01/service-2.json.gz',
        'generatedBy': 'python3 test/fuzz/generate-kms-model.py',
        'metadata': {k: model['metadata'][k] for k in ('apiVersion', 'jsonVersion', 'protocol', 'targetPrefix')},
        'operations': operations,
        'shapes': dict(sorted(out_shapes.items())),
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kms-model.json')
    with open(target, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write('\n')
    print(f'wrote {target}: {len(operations)} operations, {len(out_shapes)} shapes', file=sys.stderr)


if __name__ == '__main__':
    main()
