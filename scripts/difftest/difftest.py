#!/usr/bin/env python3
"""Differential test: upstream Placement against ours, request by request.

For each seed: a fresh temporary directory with fresh SQLite databases,
upstream (gunicorn, from the compatibility virtualenv) and ours started
on free ports, a seeded scenario of REQUESTS requests sent to both, each
pair of answers compared (compare.py), known deviations excused
(deviations.py), both servers stopped.

The scenario follows upstream's answers only, so a seed is one
reproducible run. With --self-check the second server is another
upstream: the run must then report no disagreement at all, which checks
the normalisation and the scenario's determinism.

usage: difftest.py --ours BIN --venv VENV [--seeds 1-30] [--requests 300]
                   [--self-check] [--random-seed] [--keep DIR] [--report FILE]

Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True      # keep scripts/difftest free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compare import compare, short_diff          # noqa: E402
from deviations import DEVIATIONS                 # noqa: E402
from http_io import call                          # noqa: E402
from scenario import Scenario                     # noqa: E402
from servers import Ours, Upstream                # noqa: E402

UUID_RE = re.compile(r'^[0-9a-fA-F-]{36}$')


def parse_seeds(spec):
    seeds = []
    for part in spec.split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            lo, hi = part.split('-', 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


class UuidMap:
    """Uuids the second server generated itself, mapped to upstream's.

    Only POST /resource_providers without a uuid makes a server choose one;
    the uuid each side returned is recorded, requests to the second server
    are translated to its uuid, and its answers back to upstream's, so that
    the comparison and the scenario only ever see upstream's.
    """

    def __init__(self):
        self.a_to_b = {}
        self.b_to_a = {}

    def request_for_b(self, req):
        if not self.a_to_b:
            return req
        r = req.copy()
        r.path = self._sub(r.path, self.a_to_b)
        r.query = [(k, self._sub(v, self.a_to_b)) for k, v in r.query]
        if r.body:
            r.body = self._sub(r.body.decode('utf-8', 'surrogateescape'),
                               self.a_to_b).encode('utf-8', 'surrogateescape')
        return r

    def answer_from_b(self, ans):
        if not self.b_to_a or ans.error:
            return ans
        from http_io import Answer
        body = ans.body
        if body:
            body = self._sub(body.decode('utf-8', 'surrogateescape'),
                             self.b_to_a).encode('utf-8', 'surrogateescape')
        headers = dict(ans.headers)
        if 'location' in headers:
            headers['location'] = self._sub(headers['location'], self.b_to_a)
        return Answer(ans.status, headers, body, ans.elapsed)

    def learn(self, req, a, b):
        if req.method != 'POST' or req.path != '/resource_providers':
            return
        body = req.json_body()
        if not isinstance(body, dict) or 'uuid' in body:
            return
        ua, ub = _created_uuid(a), _created_uuid(b)
        if ua and ub and ua != ub:
            self.a_to_b[ua] = ub
            self.b_to_a[ub] = ua

    @staticmethod
    def _sub(text, mapping):
        for x, y in mapping.items():
            text = text.replace(x, y)
        return text


def _created_uuid(ans):
    if ans.status not in (200, 201):
        return None
    loc = ans.headers.get('location', '')
    u = loc.rstrip('/').rsplit('/', 1)[-1]
    return u if UUID_RE.match(u) else None


def start_all(servers):
    errors = []

    def run(s):
        try:
            s.start()
            s.wait_ready()
        except Exception as exc:               # reported below
            errors.append('%s: %s' % (s.name, exc))
    threads = [threading.Thread(target=run, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError('; '.join(errors))


def run_seed(seed, args, out):
    base = args.keep if args.keep else None
    if base:
        workdir = os.path.join(base, 'seed-%d' % seed)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
    else:
        workdir = tempfile.mkdtemp(prefix='difftest-%d-' % seed)
    first = Upstream('upstream', os.path.join(workdir, 'upstream'), args.venv)
    if args.self_check:
        second = Upstream('upstream-2', os.path.join(workdir, 'upstream-2'),
                          args.venv, hash_seed=args.second_hash_seed)
    else:
        second = Ours('ours', os.path.join(workdir, 'ours'), args.ours)
    started = time.monotonic()
    result = {'seed': seed, 'requests': 0, 'disagreements': [],
              'skipped': {}, 'skipped_examples': {}, 'time': {'upstream': 0.0, 'other': 0.0}}
    try:
        start_all([first, second])
        scen = Scenario(seed)
        umap = UuidMap()
        for i in range(args.requests):
            step = scen.next_step()
            req = step.req
            a = call(first.port, req, timeout=args.timeout)
            b_raw = call(second.port, umap.request_for_b(req),
                         timeout=args.timeout)
            umap.learn(req, a, b_raw)
            b = umap.answer_from_b(b_raw)
            scen.apply(step, a)
            result['requests'] += 1
            result['time']['upstream'] += a.elapsed
            result['time']['other'] += b.elapsed
            diffs = compare(a, b, req)
            if args.trace:
                out.write('  #%d %s%s %s %s -> %s %s\n' % (
                    i, req.op, '/' + req.mutation if req.mutation else '',
                    req.method, req.url()[:150],
                    a.status, b.status))
            if not diffs:
                continue
            dev = next((d for d in DEVIATIONS if d.matches(req, a, b)), None)
            if dev is not None:
                result['skipped'][dev.name] = result['skipped'].get(dev.name, 0) + 1
                result['skipped_examples'].setdefault(dev.name, {
                    'deviation': dev.name, 'seed': seed, 'index': i,
                    'request': req.to_dict(),
                    'upstream': a.to_dict(), 'other': b.to_dict()})
                continue
            rec = {'seed': seed, 'index': i, 'req': req, 'up': a, 'ours': b,
                   'diffs': diffs,
                   'detail_only': all(d[0] == 'detail' for d in diffs)}
            result['disagreements'].append(rec)
            print_disagreement(rec, second.name, out)
    finally:
        first.stop()
        second.stop()
        result['elapsed'] = time.monotonic() - started
        if not base:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            result['workdir'] = workdir
    return result


def print_disagreement(rec, other_name, out):
    req, a, b = rec['req'], rec['up'], rec['ours']
    kinds = sorted({d[0] for d in rec['diffs']})
    out.write('\nDISAGREEMENT seed %d request #%d [%s] %s%s\n' % (
        rec['seed'], rec['index'], req.op, ','.join(kinds),
        ' (detail only)' if rec['detail_only'] else ''))
    out.write('  microversion: %s\n' % (req.header('OpenStack-API-Version') or '(none: 1.0)'))
    out.write(_indent('request:  ' + req.describe(), 2) + '\n')
    out.write(_indent('upstream: ' + a.describe(), 2) + '\n')
    out.write(_indent('%-9s ' % (other_name + ':') + b.describe(), 2) + '\n')
    for kind, field, va, vb in rec['diffs']:
        out.write('  diff %s %s: %s\n' % (kind, field, short_diff(va, vb)))
    out.flush()


def _indent(text, n):
    pad = ' ' * n
    return '\n'.join(pad + line for line in text.splitlines())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--ours', help='our placement-api binary')
    ap.add_argument('--venv', required=True,
                    help='virtualenv with openstack-placement 16.0.0')
    ap.add_argument('--seeds', default='1-30', help='e.g. 1-30 or 1,4,7-9')
    ap.add_argument('--requests', type=int, default=300,
                    help='requests per seed')
    ap.add_argument('--self-check', action='store_true',
                    help='compare upstream against upstream (must agree)')
    ap.add_argument('--random-seed', action='store_true',
                    help='add one seed drawn from os.urandom')
    ap.add_argument('--keep', metavar='DIR',
                    help='keep each seed\'s databases and logs under DIR')
    ap.add_argument('--report', metavar='FILE',
                    help='write every disagreement as JSON to FILE')
    ap.add_argument('--second-hash-seed', default='0',
                    help='PYTHONHASHSEED of the second upstream with '
                         '--self-check (another value changes upstream\'s '
                         'set iteration order, which exercises the order '
                         'normalisation; messages that list names in that '
                         'order then differ)')
    ap.add_argument('--trace', action='store_true',
                    help='print every request and both statuses')
    ap.add_argument('--timeout', type=float, default=10.0,
                    help='seconds per HTTP call')
    args = ap.parse_args(argv)
    if not args.self_check and not args.ours:
        ap.error('--ours is required unless --self-check')
    if args.ours:
        args.ours = os.path.abspath(args.ours)
    args.venv = os.path.abspath(args.venv)
    if args.keep:
        args.keep = os.path.abspath(args.keep)
        os.makedirs(args.keep, exist_ok=True)

    seeds = parse_seeds(args.seeds)
    if args.random_seed:
        drawn = int.from_bytes(os.urandom(4), 'big')
        print('difftest: drawn seed %d' % drawn, flush=True)
        seeds.append(drawn)

    out = sys.stdout
    results = []
    for seed in seeds:
        res = run_seed(seed, args, out)
        results.append(res)
        n_dis = len(res['disagreements'])
        n_det = sum(1 for d in res['disagreements'] if d['detail_only'])
        out.write('seed %d: %d requests, %d disagreements%s, %.1f s '
                  '(upstream %.1f s, %s %.1f s)\n' % (
                      seed, res['requests'], n_dis,
                      ' (%d detail only)' % n_det if n_det else '',
                      res['elapsed'], res['time']['upstream'],
                      'upstream-2' if args.self_check else 'ours',
                      res['time']['other']))
        out.flush()

    total_req = sum(r['requests'] for r in results)
    dis = [d for r in results for d in r['disagreements']]
    skipped = {}
    for r in results:
        for k, v in r['skipped'].items():
            skipped[k] = skipped.get(k, 0) + v
    n_skip = sum(skipped.values())
    if skipped:
        out.write('known deviations skipped: %s\n' % ', '.join(
            '%s %d' % (k, v) for k, v in sorted(skipped.items())))
    n_det = sum(1 for d in dis if d['detail_only'])
    if dis:
        out.write('by operation: %s\n' % ', '.join(
            '%s %d' % (k, v) for k, v in sorted(_count(
                '%s/%s' % (d['req'].op, 'detail' if d['detail_only'] else
                           ','.join(sorted({x[0] for x in d['diffs']})))
                for d in dis).items())))
    out.write('difftest: %d seeds, %d requests compared, %d disagreements '
              '(%d known deviations skipped)%s\n' % (
                  len(results), total_req, len(dis), n_skip,
                  '; %d of them detail-only' % n_det if n_det else ''))
    if args.report:
        with open(args.report, 'w') as f:
            json.dump({'seeds': seeds, 'self_check': args.self_check,
                       'requests': total_req, 'skipped': skipped,
                       'skipped_examples': [e for r in results
                                            for e in r['skipped_examples'].values()],
                       'disagreements': [
                           {'seed': d['seed'], 'index': d['index'],
                            'detail_only': d['detail_only'],
                            'request': d['req'].to_dict(),
                            'upstream': d['up'].to_dict(),
                            'other': d['ours'].to_dict(),
                            'diffs': [list(x) for x in d['diffs']]}
                           for d in dis]},
                      f, indent=1, default=str)
    return 1 if dis else 0


def _count(items):
    c = {}
    for x in items:
        c[x] = c.get(x, 0) + 1
    return c


if __name__ == '__main__':
    sys.exit(main())
