"""Seeded scenario generator.

A Scenario is driven by random.Random(seed) and by the answers of the
first (upstream) server only: it keeps a model of providers, resource
classes, traits, aggregates and consumers, updated from those answers, and
builds each next request from that model. The same seed against the same
upstream is the same run, request for request.

Iteration over sets of strings is never used to make a choice (Python
randomises string hashing per process); choices are made from sorted lists.

The model is allowed to be wrong: it only steers the generator towards
requests that are likely to be valid. Generations are the one thing that
matter for valid writes, so a provider or consumer whose generation may
have changed without the answer telling us is marked dirty, and the next
operation that needs it first re-reads it with a GET (itself a compared
request).
"""

import json
import random
import uuid as uuidlib

from http_io import Request

MAX_MINOR = 39
MAX_INT = 2147483647
STD_RCS = ['VCPU', 'MEMORY_MB', 'DISK_GB', 'SRIOV_NET_VF', 'IPV4_ADDRESS']
STD_TRAITS = ['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE', 'STORAGE_DISK_SSD',
              'HW_NIC_SRIOV', 'COMPUTE_STATUS_DISABLED',
              'MISC_SHARES_VIA_AGGREGATE']
PROJECTS = ['proj-a', 'proj-b', 'proj-c']
USERS = ['user-a', 'user-b']
CONSUMER_TYPES = ['INSTANCE', 'MIGRATION']

# Operation weights. Operations that cannot run in the current state
# (e.g. no provider yet) return None and another is drawn.
WEIGHTS = [
    ('create_rp', 8), ('get_rp', 3), ('list_rps', 6), ('update_rp', 3),
    ('delete_rp', 2),
    ('put_inventories', 8), ('post_inventory', 3), ('put_inventory', 3),
    ('get_inventories', 3), ('get_inventory', 2), ('delete_inventory', 2),
    ('delete_inventories', 1),
    ('create_rc', 2), ('put_rc', 2), ('get_rc', 1), ('list_rcs', 1),
    ('delete_rc', 1),
    ('put_trait', 2), ('get_trait', 1), ('list_traits', 2),
    ('delete_trait', 1),
    ('put_rp_traits', 4), ('get_rp_traits', 2), ('delete_rp_traits', 1),
    ('put_aggs', 4), ('get_aggs', 2),
    ('put_allocs', 10), ('post_allocs', 4), ('get_allocs', 3),
    ('delete_allocs', 2), ('get_rp_allocs', 2),
    ('rp_usages', 2), ('usages', 2),
    ('reshaper', 1),
    ('candidates', 10),
    ('root', 1), ('odd', 2),
]

# Share of requests given a generic invalid variation (on top of the
# operation-specific invalid cases each operation draws itself).
MUTATION_RATE = 0.12


class Provider:
    def __init__(self, uuid, name, parent=None):
        self.uuid = uuid
        self.name = name
        self.parent = parent
        self.gen = 0
        self.inv = {}           # rc -> record dict
        self.traits = []        # sorted list
        self.aggs = []          # sorted list


class Consumer:
    def __init__(self, uuid):
        self.uuid = uuid
        self.exists = False
        self.gen = None         # known generation when exists
        self.dirty = False
        self.project = None
        self.user = None
        self.ctype = None
        self.allocs = {}        # rp uuid -> {rc: amount}


class Step:
    """A request, with what to do with upstream's answer.

    `touch` lists (providers, consumers) a successful answer may have
    changed; used when the request carries an invalid variation and the
    model cannot trust its own reading of it.
    """

    def __init__(self, req, on_answer=None, touch=((), ())):
        self.req = req
        self.on_answer = on_answer
        self.touch = touch


class Scenario:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.providers = {}           # uuid -> Provider (insertion order)
        self.dirty = set()            # provider uuids with unknown generation
        self.custom_rcs = []          # sorted
        self.custom_traits = []       # sorted
        self.consumers = {}           # uuid -> Consumer
        self.aggs = [self.new_uuid() for _ in range(5)]
        self.counter = 0
        self.ops = [w[0] for w in WEIGHTS]
        self.weights = [w[1] for w in WEIGHTS]
        self.pool_traits = []         # see candidate_pool
        self.pool_aggs = []
        self.plan = []                # steps to take first (see plan_topology)
        self.plan_topology()

    # ----- helpers -------------------------------------------------------

    def new_uuid(self):
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def next_name(self, prefix):
        self.counter += 1
        return '%s%d' % (prefix, self.counter)

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        seq = list(seq)
        return self.rng.choice(seq) if seq else None

    def sample(self, seq, k):
        seq = list(seq)
        return self.rng.sample(seq, min(k, len(seq)))

    def ver(self, lo=0, hi=MAX_MINOR, out=0.04):
        """A microversion minor for a route served from 1.lo to 1.hi:
        mostly inside the window, sometimes outside it."""
        if self.chance(out):
            outside = [m for m in range(0, MAX_MINOR + 1) if m < lo or m > hi]
            if outside:
                return self.pick(outside)
        return self.rng.randint(lo, hi)

    def request(self, method, path, minor, query=None, body=None, op='',
                content_type='application/json'):
        headers = [('X-Auth-Token', 'admin')]
        if minor is not None:
            r = self.rng.random()
            if minor == MAX_MINOR and r < 0.1:
                headers.append(('OpenStack-API-Version', 'placement latest'))
            elif minor == 0 and r < 0.3:
                pass            # no header at all: 1.0
            else:
                headers.append(('OpenStack-API-Version',
                                'placement 1.%d' % minor))
        if self.chance(0.7):
            headers.append(('Accept', 'application/json'))
        raw = None
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            if content_type:
                headers.append(('Content-Type', content_type))
        return Request(method, path, query, headers, raw, op=op,
                       minor=minor)

    def rp_path(self, u, suffix=''):
        return '/resource_providers/%s%s' % (u, suffix)

    def some_rp(self, p_missing=0.05, pred=None):
        """An existing provider (or, rarely, an unknown uuid)."""
        if self.chance(p_missing) or not self.providers:
            return None if not self.providers and pred else self.new_uuid()
        cands = [u for u, p in self.providers.items() if pred is None or pred(p)]
        return self.pick(cands)

    def needs_fresh(self, u):
        """A refresh step when provider U's generation is unknown."""
        if u in self.providers and u in self.dirty:
            return self.refresh_rp(u)
        return None

    def gen_for(self, u):
        p = self.providers.get(u)
        gen = p.gen if p else 0
        if self.chance(0.08):
            gen = self.pick([gen - 1, gen + 1, gen + 5])  # stale / future
        return gen

    def all_rcs(self):
        return STD_RCS + self.custom_rcs

    def all_traits(self):
        return STD_TRAITS + self.custom_traits

    def roots(self):
        return [u for u, p in self.providers.items() if p.parent is None]

    def root_of(self, u):
        seen = set()
        while u in self.providers and self.providers[u].parent and u not in seen:
            seen.add(u)
            u = self.providers[u].parent
        return u

    def descendants(self, u):
        out = []
        todo = [u]
        while todo:
            x = todo.pop()
            kids = [c for c, p in self.providers.items() if p.parent == x]
            out.extend(kids)
            todo.extend(kids)
        return out

    def usage(self, u, rc):
        return sum(c.allocs.get(u, {}).get(rc, 0)
                   for c in self.consumers.values())

    def capacity(self, rec):
        return int((rec.get('total', 0) - rec.get('reserved', 0))
                   * rec.get('allocation_ratio', 1.0))

    def valid_amount(self, u, rc, extra_used=0):
        """An amount of RC on provider U that fits, or None."""
        rec = self.providers[u].inv.get(rc)
        if rec is None:
            return None
        free = self.capacity(rec) - self.usage(u, rc) - extra_used
        lo = rec.get('min_unit', 1)
        hi = min(rec.get('max_unit', MAX_INT), free, lo + 64 * rec.get('step_size', 1))
        step = rec.get('step_size', 1)
        choices = [a for a in range(lo, hi + 1) if a % step == 0][:20]
        return self.pick(choices) if choices else None

    def forget_rp(self, u):
        self.providers.pop(u, None)
        self.dirty.discard(u)
        for c in self.consumers.values():
            c.allocs.pop(u, None)

    def mark_dirty(self, rps=(), consumers=()):
        for u in rps:
            if u in self.providers:
                self.dirty.add(u)
        for c in consumers:
            if c in self.consumers:
                self.consumers[c].dirty = True

    # ----- driving -------------------------------------------------------

    def next_step(self):
        while self.plan:
            step = self.plan[0]()
            if step is None:
                self.plan.pop(0)
                continue
            if step.req.op != 'refresh':
                self.plan.pop(0)
            return step
        for _ in range(200):
            op = self.rng.choices(self.ops, self.weights)[0]
            if op == 'create_rp' and len(self.providers) < 3:
                pass
            elif len(self.providers) < 3 and self.chance(0.6):
                op = 'create_rp'
            step = getattr(self, 'op_' + op)()
            if step is not None:
                if step.req.op != 'refresh':
                    self.maybe_mutate(step)
                return step
        return self.op_root()

    def apply(self, step, ans):
        """Update the model from upstream's answer to STEP."""
        if ans.status is None:
            # No answer: anything touched may have changed.
            self.mark_dirty(*step.touch)
            return
        if step.req.mutation:
            if 200 <= ans.status < 300:
                self.mark_dirty(*step.touch)
            return
        if step.on_answer is not None:
            step.on_answer(step.req, ans)

    # ----- a realistic start ------------------------------------------------

    def plan_topology(self):
        """Queue the requests that build a few compute-node-like trees (and
        maybe a sharing provider), so that allocation candidates have
        something to find. They are ordinary compared requests."""
        rng = self.rng
        plan = self.plan
        physnets = ['CUSTOM_PHYSNET_A', 'CUSTOM_PHYSNET_B']
        for t in physnets:
            plan.append(lambda t=t: self.mk_put_trait(t))
        roots = []
        for _ in range(rng.randint(1, 3)):
            root = self.new_uuid()
            roots.append(root)
            plan.append(lambda u=root: self.mk_create_rp(u, None))
            inv = {'VCPU': {'total': self.pick([4, 8, 16]),
                            'allocation_ratio': self.pick([1.0, 4.0, 16.0])},
                   'MEMORY_MB': {'total': self.pick([2048, 8192]),
                                 'reserved': self.pick([0, 512]),
                                 'step_size': self.pick([1, 256])}}
            if self.chance(0.6):
                inv['DISK_GB'] = {'total': self.pick([20, 100, 500])}
            plan.append(lambda u=root, inv=inv: self.mk_put_inventories(u, inv))
            traits = self.sample(['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE',
                                  'COMPUTE_STATUS_DISABLED'], rng.randint(0, 2))
            if traits:
                plan.append(lambda u=root, tr=traits: self.mk_put_rp_traits(u, tr))
            for _ in range(rng.randint(0, 3)):
                kid = self.new_uuid()
                parent = root if self.chance(0.8) else None
                plan.append(lambda u=kid, p=parent or root: self.mk_create_rp(u, p))
                if self.chance(0.5):
                    inv = {'SRIOV_NET_VF': {'total': self.pick([4, 8]),
                                            'max_unit': self.pick([2, 8])}}
                    tr = ['HW_NIC_SRIOV', self.pick(physnets)]
                else:
                    inv = {'VCPU': {'total': 4}, 'MEMORY_MB': {'total': 4096}}
                    tr = self.sample(['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE'], 1)
                plan.append(lambda u=kid, inv=inv: self.mk_put_inventories(u, inv))
                plan.append(lambda u=kid, tr=tr: self.mk_put_rp_traits(u, tr))
        if self.chance(0.7):
            share = self.new_uuid()
            agg = self.aggs[0]
            plan.append(lambda u=share: self.mk_create_rp(u, None))
            plan.append(lambda u=share: self.mk_put_inventories(
                u, {'DISK_GB': {'total': self.pick([1000, 2000]), 'reserved': 10},
                    'IPV4_ADDRESS': {'total': 16}}))
            plan.append(lambda u=share: self.mk_put_rp_traits(
                u, ['MISC_SHARES_VIA_AGGREGATE']))
            plan.append(lambda u=share: self.mk_put_aggs(u, [agg]))
            for r in roots:
                if self.chance(0.7):
                    plan.append(lambda u=r: self.mk_put_aggs(u, [agg]))

    def mk_put_trait(self, name):
        req = self.request('PUT', '/traits/' + name, self.ver(6, out=0), op='put_trait')

        def on(req, ans):
            if ans.status in (201, 204) and name not in self.custom_traits:
                self.custom_traits = sorted(self.custom_traits + [name])
        return Step(req, on)

    def mk_create_rp(self, u, parent):
        minor = self.ver(14 if parent else 0, out=0)
        body = {'name': self.next_name('cn-' if parent is None else 'child-'), 'uuid': u}
        if parent:
            body['parent_provider_uuid'] = parent
        req = self.request('POST', '/resource_providers', minor, body=body,
                           op='create_rp')

        def on(req, ans):
            if ans.status in (200, 201):
                self.providers[u] = Provider(u, body['name'], parent)
                if isinstance(ans.json, dict):
                    self.read_rp(ans.json)
        return Step(req, on)

    def _generation_put(self, u, suffix, lo, op, on, make_body):
        """A PUT under provider U that carries its generation (read fresh
        first when it may have moved unseen), served from 1.LO."""
        if u not in self.providers:
            return None
        refresh = self.needs_fresh(u)
        if refresh:
            return refresh
        body = make_body(self.providers[u].gen)
        req = self.request('PUT', self.rp_path(u, suffix), self.ver(lo, out=0), body=body, op=op)
        return Step(req, on, ([u], []))

    def mk_put_inventories(self, u, invs):
        return self._generation_put(
            u, '/inventories', 0, 'put_inventories', self.on_put_inventories(u),
            lambda gen: {'resource_provider_generation': gen, 'inventories': invs})

    def mk_put_rp_traits(self, u, traits):
        return self._generation_put(
            u, '/traits', 6, 'put_rp_traits', self.on_rp_traits(u),
            lambda gen: {'traits': traits, 'resource_provider_generation': gen})

    def mk_put_aggs(self, u, aggs):
        return self._generation_put(
            u, '/aggregates', 19, 'put_aggs', self.on_aggs(u),
            lambda gen: {'aggregates': aggs, 'resource_provider_generation': gen})

    # ----- refresh -------------------------------------------------------

    def refresh_rp(self, u):
        minor = self.ver(0, out=0)
        req = self.request('GET', self.rp_path(u), minor, op='refresh')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict):
                self.read_rp(ans.json)
            elif ans.status == 404:
                self.forget_rp(u)
        return Step(req, on)

    def read_rp(self, d):
        u = d.get('uuid')
        p = self.providers.get(u)
        if p is None:
            return
        if isinstance(d.get('generation'), int):
            p.gen = d['generation']
            self.dirty.discard(u)
        if 'name' in d:
            p.name = d['name']
        if 'parent_provider_uuid' in d:
            p.parent = d['parent_provider_uuid']

    def refresh_consumer(self, c):
        minor = self.rng.randint(28, MAX_MINOR)
        req = self.request('GET', '/allocations/%s' % c, minor, op='refresh')
        return Step(req, self.on_get_allocs(c))

    def on_get_allocs(self, c):
        def on(req, ans):
            if ans.status != 200 or not isinstance(ans.json, dict):
                return
            cons = self.consumers.setdefault(c, Consumer(c))
            allocs = ans.json.get('allocations') or {}
            if not isinstance(allocs, dict):
                return
            cons.allocs = {u: dict(v.get('resources', {}))
                           for u, v in allocs.items() if isinstance(v, dict)}
            for u, v in allocs.items():
                if u in self.providers and isinstance(v, dict) \
                        and isinstance(v.get('generation'), int):
                    self.providers[u].gen = v['generation']
                    self.dirty.discard(u)
            cons.exists = bool(cons.allocs)
            if not cons.exists:
                cons.gen = None
                cons.dirty = False
            elif 'consumer_generation' in ans.json:
                cons.gen = ans.json['consumer_generation']
                cons.dirty = False
            if 'project_id' in ans.json:
                cons.project = ans.json['project_id']
                cons.user = ans.json.get('user_id')
            if 'consumer_type' in ans.json:
                cons.ctype = ans.json['consumer_type']
        return on

    # ----- resource providers -------------------------------------------

    def op_create_rp(self):
        minor = self.ver(0)
        body = {'name': self.next_name(self.pick(['rp-', 'cn-', 'Провайдер-', 'rp ']))}
        if self.chance(0.85):
            body['uuid'] = self.new_uuid()
        if minor >= 14 and self.providers and self.chance(0.5):
            body['parent_provider_uuid'] = self.pick(list(self.providers))
        elif minor >= 14 and self.chance(0.1):
            body['parent_provider_uuid'] = None
        r = self.rng.random()
        if r < 0.04 and self.providers:
            body['name'] = self.providers[self.pick(list(self.providers))].name
        elif r < 0.07 and self.providers and 'uuid' in body:
            body['uuid'] = self.pick(list(self.providers))
        elif r < 0.09:
            body['name'] = 'n' * 201
        elif r < 0.11 and minor >= 14:
            body['parent_provider_uuid'] = self.new_uuid()
        elif r < 0.13 and minor < 14 and self.providers:
            body['parent_provider_uuid'] = self.pick(list(self.providers))
        elif r < 0.14:
            body['uuid'] = self.pick(['not-a-uuid', body.get('uuid', self.new_uuid()).replace('-', ''),
                                      body.get('uuid', self.new_uuid()).upper()])
        req = self.request('POST', '/resource_providers', minor, body=body,
                           op='create_rp')

        def on(req, ans):
            if ans.status not in (200, 201):
                return
            b = req.json_body()
            u = None
            if isinstance(ans.json, dict) and ans.json.get('uuid'):
                u = ans.json['uuid']
            elif ans.headers.get('location'):
                u = ans.headers['location'].rstrip('/').rsplit('/', 1)[-1]
            if not u:
                return
            p = Provider(u, b.get('name'), b.get('parent_provider_uuid'))
            self.providers[u] = p
            if isinstance(ans.json, dict):
                self.read_rp(ans.json)
        return Step(req, on, ([], []))

    def op_get_rp(self):
        u = self.some_rp(0.1)
        req = self.request('GET', self.rp_path(u), self.ver(0), op='get_rp')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict):
                self.read_rp(ans.json)
            elif ans.status == 404:
                self.forget_rp(u)
        return Step(req, on)

    def op_list_rps(self):
        minor = self.ver(0)
        q = []
        if self.chance(0.1) and self.providers:
            q.append(('name', self.providers[self.pick(list(self.providers))].name
                      if self.chance(0.8) else 'no-such-name'))
        if self.chance(0.1):
            q.append(('uuid', self.some_rp(0.2)))
        if minor >= 3 and self.chance(0.25):
            for _ in range(2 if minor >= 24 and self.chance(0.2) else 1):
                q.append(('member_of', self.member_of_value(minor)))
        if minor >= 4 and self.chance(0.25):
            q.append(('resources', self.resources_value(minor)))
        if minor >= 14 and self.chance(0.2):
            q.append(('in_tree', self.some_rp(0.1)))
        if minor >= 18 and self.chance(0.25):
            for _ in range(2 if minor >= 39 and self.chance(0.2) else 1):
                q.append(('required', self.required_value(minor)))
        r = self.rng.random()
        if r < 0.03:
            q.append(('bogus', 'x'))
        elif r < 0.05 and minor >= 4:
            q.append(('resources', self.pick(['VCPU', 'VCPU:0', 'VCPU:x', 'CUSTOM_NOPE:1',
                                              'VCPU:1,', '', 'VCPU:1:2'])))
        elif r < 0.06 and minor >= 3:
            q.append(('member_of', self.pick(['not-a-uuid', 'in:', '!' + self.aggs[0]])))
        elif r < 0.07 and minor >= 14:
            q.append(('in_tree', 'not-a-uuid'))
        elif r < 0.08 and minor >= 18:
            q.append(('required', self.pick(['CUSTOM_NO_SUCH_TRAIT', '', '!', 'in:',
                                             'HW_CPU_X86_AVX,,STORAGE_DISK_SSD'])))
        req = self.request('GET', '/resource_providers', minor, query=q,
                           op='list_rps')

        def on(req, ans):
            if ans.status != 200 or not isinstance(ans.json, dict):
                return
            listed = ans.json.get('resource_providers') or []
            for d in listed:
                if isinstance(d, dict):
                    self.read_rp(d)
            if not req.query:
                seen = {d.get('uuid') for d in listed if isinstance(d, dict)}
                for u in list(self.providers):
                    if u not in seen:
                        self.forget_rp(u)
        return Step(req, on)

    def op_update_rp(self):
        u = self.some_rp(0.05)
        minor = self.ver(0)
        p = self.providers.get(u)
        body = {}
        r = self.rng.random()
        if p is not None and r < 0.08 and len(self.providers) > 1:
            other = self.pick([x for x in self.providers if x != u])
            body['name'] = self.providers[other].name          # conflict
        elif p is not None and r < 0.2:
            body['name'] = p.name
        else:
            body['name'] = self.next_name('renamed-')
        if minor >= 14 and p is not None and self.chance(0.5):
            r = self.rng.random()
            if r < 0.3:
                body['parent_provider_uuid'] = p.parent
            elif r < 0.55:
                body['parent_provider_uuid'] = None
            elif r < 0.85:
                cands = [x for x in self.providers
                         if x != u and x not in self.descendants(u)]
                body['parent_provider_uuid'] = self.pick(cands) if cands else None
            elif r < 0.95 and self.descendants(u):
                body['parent_provider_uuid'] = self.pick(self.descendants(u))  # loop
            else:
                body['parent_provider_uuid'] = self.new_uuid()   # unknown
        if self.chance(0.03):
            body['uuid'] = u                                      # not allowed
        req = self.request('PUT', self.rp_path(u), minor, body=body,
                           op='update_rp')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict):
                if u in self.providers:
                    b = req.json_body()
                    if 'parent_provider_uuid' in b:
                        self.providers[u].parent = b['parent_provider_uuid']
                    self.read_rp(ans.json)
                    self.dirty.add(u)
        return Step(req, on, ([u], []))

    def op_delete_rp(self):
        if self.chance(0.7):
            leaves = [u for u in self.providers if not self.descendants(u)]
            u = self.pick(leaves) if leaves else self.some_rp()
        else:
            u = self.some_rp(0.1)
        req = self.request('DELETE', self.rp_path(u), self.ver(0),
                           op='delete_rp')

        def on(req, ans):
            if ans.status in (204, 404):
                self.forget_rp(u)
        return Step(req, on, ([u], []))

    # ----- values for filters ---------------------------------------------

    def member_of_value(self, minor):
        r = self.rng.random()
        if self.pool_aggs and r < 0.4:
            return self.pick(self.pool_aggs)
        if r < 0.5:
            return self.pick(self.aggs)
        if r < 0.8 or minor < 32:
            return 'in:' + ','.join(self.sample(self.aggs, self.rng.randint(1, 3)))
        if r < 0.9:
            return '!' + self.pick(self.aggs)
        return '!in:' + ','.join(self.sample(self.aggs, 2))

    def inventoried(self):
        out = []
        for p in self.providers.values():
            out.extend(p.inv)
        return sorted(set(out))

    def resources_value(self, minor, rcs=None, amounts=(1, 1, 1, 2, 3, 4, 8, 100)):
        rcs = rcs or self.inventoried() or ['VCPU']
        n = self.rng.randint(1, min(3, len(rcs)))
        parts = ['%s:%d' % (rc, self.pick(amounts)) for rc in self.sample(rcs, n)]
        return ','.join(parts)

    def candidate_pool(self):
        """Classes one tree (with the sharing providers) has inventory of,
        mostly; else every inventoried class. Sets self.pool_traits and
        self.pool_aggs to that tree's traits and aggregates, which the
        trait and member_of choices of a candidates request then prefer."""
        self.pool_traits, self.pool_aggs = [], []
        roots = self.roots()
        if roots and self.chance(0.75):
            r = self.pick(roots)
            members = [r] + self.descendants(r) + [
                u for u, p in self.providers.items()
                if 'MISC_SHARES_VIA_AGGREGATE' in p.traits]
            members = [u for u in members if u in self.providers]
            rcs = sorted({rc for u in members for rc in self.providers[u].inv})
            if rcs:
                self.pool_traits = sorted({t for u in members
                                           for t in self.providers[u].traits})
                self.pool_aggs = sorted({a for u in members
                                         for a in self.providers[u].aggs})
                return rcs
        return self.inventoried() or ['VCPU', 'DISK_GB']

    def used_traits(self):
        out = []
        for p in self.providers.values():
            out.extend(p.traits)
        return sorted(set(out))

    def trait_choice(self):
        if self.pool_traits and self.chance(0.8):
            return self.pick(self.pool_traits)
        used = self.used_traits()
        if used and self.chance(0.7):
            return self.pick(used)
        return self.pick(self.all_traits())

    def required_value(self, minor, allow_any=True):
        if minor >= 39 and allow_any and self.chance(0.3):
            return 'in:' + ','.join(sorted({self.trait_choice() for _ in range(2)}))
        traits = sorted({self.trait_choice() for _ in range(self.rng.randint(1, 2))})
        if minor >= 22 and self.chance(0.3):
            traits.append('!' + self.trait_choice())
        return ','.join(traits)

    # ----- inventories ----------------------------------------------------

    def inv_record(self):
        total = self.pick([1, 2, 4, 8, 16, 32, 100, 1024, 4096, MAX_INT,
                           self.rng.randint(1, 64)])
        rec = {'total': total}
        if self.chance(0.5):
            rec['reserved'] = self.pick([0, 0, 1, total // 4, total - 1])
        if self.chance(0.4):
            rec['min_unit'] = self.pick([1, 1, 2])
        if self.chance(0.5):
            rec['max_unit'] = self.pick([total, max(1, total // 2), 1, MAX_INT])
        if self.chance(0.3):
            rec['step_size'] = self.pick([1, 2, 4])
        if self.chance(0.5):
            rec['allocation_ratio'] = self.pick([1.0, 1, 16.0, 0.5, 1.5, 2])
        r = self.rng.random()
        if r < 0.03:
            rec['reserved'] = total                     # valid from 1.26
        elif r < 0.04:
            rec['reserved'] = total + 1
        elif r < 0.05:
            rec['total'] = 0
        elif r < 0.06:
            rec['total'] = MAX_INT + 1
        elif r < 0.07:
            rec['min_unit'] = 0
        elif r < 0.08:
            rec['step_size'] = 0
        elif r < 0.09:
            rec['allocation_ratio'] = self.pick([-1.0, 0, 3.5e38, 1e-9])
        elif r < 0.10:
            rec['min_unit'], rec['max_unit'] = 4, 2
        elif r < 0.11:
            rec['total'] = str(total)
        return rec

    def inv_target(self, with_inv=False):
        """A provider for an inventory write, or a refresh step first."""
        u = None
        if with_inv and self.chance(0.85):
            u = self.pick([x for x, p in self.providers.items() if p.inv])
        if u is None:
            u = self.some_rp(0.04)
        return u, self.needs_fresh(u)

    def op_put_inventories(self):
        u, refresh = self.inv_target()
        if refresh:
            return refresh
        p = self.providers.get(u)
        invs = {}
        if p is not None:
            for rc in sorted(p.inv):
                if self.chance(0.75):
                    invs[rc] = dict(p.inv[rc]) if self.chance(0.6) else self.inv_record()
        for rc in self.sample(self.all_rcs(), self.rng.randint(0, 2)):
            invs.setdefault(rc, self.inv_record())
        if self.chance(0.03):
            invs['CUSTOM_UNKNOWN_CLASS'] = self.inv_record()
        if self.chance(0.02):
            invs['lowercase'] = self.inv_record()
        body = {'resource_provider_generation': self.gen_for(u), 'inventories': invs}
        req = self.request('PUT', self.rp_path(u, '/inventories'), self.ver(0),
                           body=body, op='put_inventories')

        return Step(req, self.on_put_inventories(u), ([u], []))

    def on_put_inventories(self, u):
        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict) and u in self.providers:
                p = self.providers[u]
                p.inv = {rc: dict(v) for rc, v in (ans.json.get('inventories') or {}).items()}
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    p.gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return on

    def on_rp_traits(self, u):
        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict) and u in self.providers:
                p = self.providers[u]
                p.traits = sorted(ans.json.get('traits') or [])
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    p.gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return on

    def on_aggs(self, u):
        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict) and u in self.providers:
                p = self.providers[u]
                p.aggs = sorted(ans.json.get('aggregates') or [])
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    p.gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
                else:
                    self.dirty.add(u)
        return on

    def on_one_inventory(self, u, rc):
        def on(req, ans):
            if ans.status in (200, 201) and isinstance(ans.json, dict) \
                    and u in self.providers:
                p = self.providers[u]
                rec = {k: v for k, v in ans.json.items()
                       if k != 'resource_provider_generation'}
                p.inv[rc] = rec
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    p.gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return on

    def op_post_inventory(self):
        u, refresh = self.inv_target()
        if refresh:
            return refresh
        p = self.providers.get(u)
        have = sorted(p.inv) if p else []
        fresh = [rc for rc in self.all_rcs() if rc not in have]
        rc = self.pick(have) if (have and self.chance(0.1)) or not fresh else self.pick(fresh)
        if self.chance(0.03):
            rc = 'CUSTOM_UNKNOWN_CLASS'
        body = dict(self.inv_record(), resource_class=rc)
        if self.chance(0.3):
            body['resource_provider_generation'] = self.gen_for(u)
        req = self.request('POST', self.rp_path(u, '/inventories'), self.ver(0),
                           body=body, op='post_inventory')
        return Step(req, self.on_one_inventory(u, rc), ([u], []))

    def op_put_inventory(self):
        u, refresh = self.inv_target(with_inv=True)
        if refresh:
            return refresh
        p = self.providers.get(u)
        have = sorted(p.inv) if p else []
        rc = self.pick(have) if have and self.chance(0.9) else self.pick(self.all_rcs())
        body = dict(self.inv_record(), resource_provider_generation=self.gen_for(u))
        if self.chance(0.05):
            body['resource_class'] = rc                          # not allowed
        req = self.request('PUT', self.rp_path(u, '/inventories/' + rc), self.ver(0),
                           body=body, op='put_inventory')
        return Step(req, self.on_one_inventory(u, rc), ([u], []))

    def op_get_inventories(self):
        u = self.some_rp(0.05)
        req = self.request('GET', self.rp_path(u, '/inventories'), self.ver(0),
                           op='get_inventories')

        return Step(req, self.on_put_inventories(u))

    def op_get_inventory(self):
        u, _ = self.inv_target(with_inv=True)
        p = self.providers.get(u)
        have = sorted(p.inv) if p else []
        rc = self.pick(have) if have and self.chance(0.8) else self.pick(self.all_rcs())
        req = self.request('GET', self.rp_path(u, '/inventories/' + rc), self.ver(0),
                           op='get_inventory')

        def on(req, ans):
            if ans.status == 200 and u in self.providers and isinstance(ans.json, dict):
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    self.providers[u].gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return Step(req, on)

    def op_delete_inventory(self):
        u, _ = self.inv_target(with_inv=True)
        p = self.providers.get(u)
        have = sorted(p.inv) if p else []
        rc = self.pick(have) if have and self.chance(0.85) else self.pick(self.all_rcs())
        req = self.request('DELETE', self.rp_path(u, '/inventories/' + rc), self.ver(0),
                           op='delete_inventory')

        def on(req, ans):
            if ans.status == 204 and u in self.providers:
                self.providers[u].inv.pop(rc, None)
                self.dirty.add(u)
        return Step(req, on, ([u], []))

    def op_delete_inventories(self):
        u = self.some_rp(0.05)
        req = self.request('DELETE', self.rp_path(u, '/inventories'), self.ver(5),
                           op='delete_inventories')

        def on(req, ans):
            if ans.status == 204 and u in self.providers:
                self.providers[u].inv = {}
                self.dirty.add(u)
        return Step(req, on, ([u], []))

    # ----- resource classes -----------------------------------------------

    def rc_name_choice(self):
        r = self.rng.random()
        if r < 0.5 and self.custom_rcs:
            return self.pick(self.custom_rcs)
        if r < 0.7:
            return self.pick(STD_RCS)
        if r < 0.95:
            return self.next_name('CUSTOM_RC_')
        return self.pick(['custom_lower', 'CUSTOM_', 'NOT_CUSTOM', 'CUSTOM_' + 'A' * 250])

    def add_rc(self, name):
        if name not in self.custom_rcs:
            self.custom_rcs = sorted(self.custom_rcs + [name])

    def op_create_rc(self):
        r = self.rng.random()
        if r < 0.1 and self.custom_rcs:
            name = self.pick(self.custom_rcs)
        elif r < 0.15:
            name = self.pick(STD_RCS)
        elif r < 0.2:
            name = self.pick(['CUSTOM_lower', 'CUSTOM_', 'CUSTOM_' + 'B' * 250, 'BAD-NAME'])
        else:
            name = self.next_name('CUSTOM_RC_')
        req = self.request('POST', '/resource_classes', self.ver(2),
                           body={'name': name}, op='create_rc')

        def on(req, ans):
            if ans.status == 201:
                self.add_rc(name)
        return Step(req, on)

    def rename_rc(self, old, new):
        self.custom_rcs = sorted([c for c in self.custom_rcs if c != old] + [new])
        for p in self.providers.values():
            if old in p.inv:
                p.inv[new] = p.inv.pop(old)
        for c in self.consumers.values():
            for res in c.allocs.values():
                if old in res:
                    res[new] = res.pop(old)

    def op_put_rc(self):
        minor = self.ver(2)
        if minor >= 7:
            name = self.rc_name_choice()
            req = self.request('PUT', '/resource_classes/' + name, minor,
                               op='put_rc')

            def on(req, ans):
                if ans.status in (201, 204) and name.startswith('CUSTOM_'):
                    self.add_rc(name)
            return Step(req, on)
        name = self.rc_name_choice()
        new = self.next_name('CUSTOM_RENAMED_') if self.chance(0.85) else \
            self.pick(self.custom_rcs + ['VCPU', 'CUSTOM_lower'])
        req = self.request('PUT', '/resource_classes/' + name, minor,
                           body={'name': new}, op='put_rc')

        def on(req, ans):
            if ans.status == 200:
                self.rename_rc(name, new)
        return Step(req, on)

    def op_get_rc(self):
        req = self.request('GET', '/resource_classes/' + self.rc_name_choice(),
                           self.ver(2), op='get_rc')
        return Step(req)

    def op_list_rcs(self):
        req = self.request('GET', '/resource_classes', self.ver(2), op='list_rcs')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict):
                names = [c.get('name') for c in ans.json.get('resource_classes') or []
                         if isinstance(c, dict)]
                self.custom_rcs = sorted(n for n in names
                                         if isinstance(n, str) and n.startswith('CUSTOM_'))
        return Step(req, on)

    def op_delete_rc(self):
        name = self.rc_name_choice()
        req = self.request('DELETE', '/resource_classes/' + name, self.ver(2),
                           op='delete_rc')

        def on(req, ans):
            if ans.status == 204:
                self.custom_rcs = [c for c in self.custom_rcs if c != name]
        return Step(req, on)

    # ----- traits ---------------------------------------------------------

    def trait_name_choice(self):
        r = self.rng.random()
        if r < 0.45 and self.custom_traits:
            return self.pick(self.custom_traits)
        if r < 0.65:
            return self.pick(STD_TRAITS)
        if r < 0.95:
            return self.next_name('CUSTOM_TRAIT_')
        return self.pick(['CUSTOM_lower', 'NOT_CUSTOM_TRAIT', 'CUSTOM_', 'CUSTOM_' + 'T' * 260])

    def op_put_trait(self):
        name = self.trait_name_choice()
        req = self.request('PUT', '/traits/' + name, self.ver(6), op='put_trait')

        def on(req, ans):
            if ans.status in (201, 204) and name.startswith('CUSTOM_') \
                    and name not in self.custom_traits:
                self.custom_traits = sorted(self.custom_traits + [name])
        return Step(req, on)

    def op_get_trait(self):
        req = self.request('GET', '/traits/' + self.trait_name_choice(), self.ver(6),
                           op='get_trait')
        return Step(req)

    def op_list_traits(self):
        q = []
        r = self.rng.random()
        if r < 0.3:
            q.append(('name', 'in:' + ','.join(sorted({self.trait_name_choice()
                                                        for _ in range(3)}))))
        elif r < 0.55:
            q.append(('name', 'startswith:' + self.pick(['CUSTOM_', 'HW_', 'CUSTOM_TRAIT_1',
                                                          'NOPE', ''])))
        elif r < 0.6:
            q.append(('name', self.pick(['CUSTOM_X', 'in', 'other:X', 'in:'])))
        if self.chance(0.3):
            q.append(('associated', self.pick(['true', 'false', 'True', 'maybe'])))
        if self.chance(0.02):
            q.append(('bogus', '1'))
        req = self.request('GET', '/traits', self.ver(6), query=q, op='list_traits')
        return Step(req)

    def op_delete_trait(self):
        name = self.trait_name_choice()
        req = self.request('DELETE', '/traits/' + name, self.ver(6), op='delete_trait')

        def on(req, ans):
            if ans.status == 204:
                self.custom_traits = [t for t in self.custom_traits if t != name]
        return Step(req, on)

    def op_put_rp_traits(self):
        u = self.some_rp(0.04)
        refresh = self.needs_fresh(u)
        if refresh:
            return refresh
        traits = self.sample(self.all_traits(), self.rng.randint(0, 3))
        if self.chance(0.04):
            traits.append('CUSTOM_NO_SUCH_TRAIT')
        if self.chance(0.02):
            traits.append('lowercase_trait')
        body = {'traits': traits, 'resource_provider_generation': self.gen_for(u)}
        req = self.request('PUT', self.rp_path(u, '/traits'), self.ver(6),
                           body=body, op='put_rp_traits')

        return Step(req, self.on_rp_traits(u), ([u], []))

    def op_get_rp_traits(self):
        u = self.some_rp(0.05)
        req = self.request('GET', self.rp_path(u, '/traits'), self.ver(6),
                           op='get_rp_traits')

        return Step(req, self.on_rp_traits(u))

    def op_delete_rp_traits(self):
        u = self.some_rp(0.05)
        req = self.request('DELETE', self.rp_path(u, '/traits'), self.ver(6),
                           op='delete_rp_traits')

        def on(req, ans):
            if ans.status == 204 and u in self.providers:
                self.providers[u].traits = []
                self.dirty.add(u)
        return Step(req, on, ([u], []))

    # ----- aggregates -----------------------------------------------------

    def op_put_aggs(self):
        u = self.some_rp(0.04)
        minor = self.ver(1)
        if minor >= 19:
            refresh = self.needs_fresh(u)
            if refresh:
                return refresh
        aggs = self.sample(self.aggs, self.rng.randint(0, 3))
        r = self.rng.random()
        if r < 0.03 and aggs:
            aggs.append(aggs[0])                     # not unique
        elif r < 0.05:
            aggs.append('not-a-uuid')
        if minor >= 19:
            body = {'aggregates': aggs, 'resource_provider_generation': self.gen_for(u)}
        else:
            body = aggs
        if self.chance(0.03):                       # the other format
            body = aggs if minor >= 19 else {'aggregates': aggs,
                                             'resource_provider_generation': 0}
        req = self.request('PUT', self.rp_path(u, '/aggregates'), minor,
                           body=body, op='put_aggs')

        return Step(req, self.on_aggs(u), ([u], []))

    def op_get_aggs(self):
        u = self.some_rp(0.05)
        req = self.request('GET', self.rp_path(u, '/aggregates'), self.ver(1),
                           op='get_aggs')

        return Step(req, self.on_aggs(u))

    # ----- allocations ----------------------------------------------------

    def pick_consumer(self, p_new=0.4):
        existing = [c for c, x in self.consumers.items() if x.exists]
        if existing and not self.chance(p_new):
            return self.pick(existing)
        c = self.new_uuid()
        self.consumers[c] = Consumer(c)
        return c

    def alloc_resources(self):
        """{rp: {rc: amount}} for 1-3 providers, mostly fitting."""
        with_inv = [u for u, p in self.providers.items() if p.inv]
        out = {}
        for u in self.sample(with_inv, self.rng.randint(1, 3)):
            res = {}
            for rc in self.sample(sorted(self.providers[u].inv), self.rng.randint(1, 2)):
                amt = self.valid_amount(u, rc)
                r = self.rng.random()
                if r < 0.05:
                    rec = self.providers[u].inv[rc]
                    amt = self.capacity(rec) + 1                     # over capacity
                elif r < 0.07:
                    amt = self.providers[u].inv[rc].get('max_unit', MAX_INT) + 1
                if amt is not None and amt >= 1:
                    res[rc] = min(amt, MAX_INT)
            if self.chance(0.03):
                res[self.pick(self.all_rcs())] = 1                   # maybe no inventory
            if res:
                out[u] = res
        if self.chance(0.03):
            out[self.new_uuid()] = {'VCPU': 1}                      # unknown provider
        if self.chance(0.02) and out:
            u = self.pick(sorted(out))
            out[u][self.pick(sorted(out[u]))] = self.pick([0, -1])
        return out

    def consumer_fields(self, c, minor):
        """project/user/generation/type of consumer C for a write at 1.minor."""
        cons = self.consumers[c]
        d = {}
        if minor >= 8:
            if cons.project and self.chance(0.85):
                d['project_id'], d['user_id'] = cons.project, cons.user
            else:
                d['project_id'], d['user_id'] = self.pick(PROJECTS), self.pick(USERS)
        if minor >= 28:
            if cons.exists:
                g = cons.gen
                d['consumer_generation'] = g if not self.chance(0.06) else \
                    self.pick([None, (g or 0) + 1])
            else:
                d['consumer_generation'] = None if not self.chance(0.05) else 0
        if minor >= 38:
            d['consumer_type'] = cons.ctype if cons.ctype and self.chance(0.7) \
                else self.pick(CONSUMER_TYPES)
            if self.chance(0.02):
                d['consumer_type'] = 'bad-type'
        return d

    def allocs_body(self, allocs, minor):
        if minor < 12:
            return [{'resource_provider': {'uuid': u}, 'resources': res}
                    for u, res in allocs.items()]
        out = {}
        for u, res in allocs.items():
            out[u] = {'resources': res}
            if self.chance(0.15) and u in self.providers:
                out[u]['generation'] = self.providers[u].gen   # ignored
        return out

    def on_alloc_write(self, bodies, minor):
        """Model update after a successful write of BODIES {consumer: body}."""
        for c, b in bodies.items():
            cons = self.consumers.setdefault(c, Consumer(c))
            allocs = b.get('allocations')
            if isinstance(allocs, list):
                new = {a['resource_provider']['uuid']: dict(a['resources']) for a in allocs}
            else:
                new = {u: dict(v['resources']) for u, v in (allocs or {}).items()}
            self.mark_dirty(list(cons.allocs) + list(new))
            cons.allocs = new
            cons.exists = bool(new)
            cons.dirty = cons.exists
            cons.gen = None
            if 'project_id' in b:
                cons.project, cons.user = b['project_id'], b['user_id']
            elif minor < 8 and cons.project is None:
                cons.project = cons.user = '00000000-0000-0000-0000-000000000000'
            if 'consumer_type' in b:
                cons.ctype = b['consumer_type']

    def op_put_allocs(self):
        minor = self.ver(0)
        c = self.pick_consumer()
        cons = self.consumers[c]
        if minor >= 28 and cons.exists and cons.dirty:
            return self.refresh_consumer(c)
        allocs = self.alloc_resources()
        if minor >= 28 and cons.exists and (self.chance(0.1) or not allocs):
            allocs = {}
        if not allocs and minor < 28 and not self.chance(0.05):
            return None
        body = {'allocations': self.allocs_body(allocs, minor)}
        body.update(self.consumer_fields(c, minor))
        if minor >= 34 and allocs and self.chance(0.1):
            body['mappings'] = {'1': [self.pick(sorted(allocs))]}
        path = '/allocations/%s' % c
        if self.chance(0.02):
            path = '/allocations/' + self.pick(['not-a-uuid', c.replace('-', ''), c.upper()])
        req = self.request('PUT', path, minor, body=body, op='put_allocs')

        def on(req, ans):
            if ans.status == 204 and path == '/allocations/%s' % c:
                self.on_alloc_write({c: req.json_body()}, minor)
            else:
                self.mark_dirty(list(allocs), [c])
        return Step(req, on, (list(allocs) + list(cons.allocs), [c]))

    def op_post_allocs(self):
        minor = self.ver(13)
        chosen = []
        for _ in range(self.rng.randint(1, 3)):
            c = self.pick_consumer(0.5)
            if c not in chosen:
                chosen.append(c)
        if minor >= 28:
            for c in chosen:
                if self.consumers[c].exists and self.consumers[c].dirty:
                    return self.refresh_consumer(c)
        body = {}
        touched = []
        for c in chosen:
            cons = self.consumers[c]
            allocs = {} if (cons.exists and self.chance(0.2)) else self.alloc_resources()
            touched += list(allocs) + list(cons.allocs)
            entry = {'allocations': self.allocs_body(allocs, max(minor, 12))}
            entry.update(self.consumer_fields(c, max(minor, 8)))
            if minor >= 34 and allocs and self.chance(0.1):
                entry['mappings'] = {'x': [self.pick(sorted(allocs))]}
            body[c] = entry
        if self.chance(0.03):
            body['not-a-uuid'] = {'allocations': {}, 'project_id': 'p', 'user_id': 'u'}
        req = self.request('POST', '/allocations', minor, body=body, op='post_allocs')

        def on(req, ans):
            if ans.status == 204:
                self.on_alloc_write(req.json_body(), minor)
            else:
                self.mark_dirty(touched, chosen)
        return Step(req, on, (touched, chosen))

    def op_get_allocs(self):
        minor = self.ver(0)
        c = self.pick_consumer(0.2) if self.consumers else self.new_uuid()
        req = self.request('GET', '/allocations/%s' % c, minor, op='get_allocs')
        on = self.on_get_allocs(c)
        if minor < 28:
            def on(req, ans, inner=on):
                dirty = self.consumers[c].dirty if c in self.consumers else False
                inner(req, ans)
                if c in self.consumers:
                    self.consumers[c].dirty = dirty or self.consumers[c].exists
        return Step(req, on)

    def op_delete_allocs(self):
        c = self.pick_consumer(0.15)
        cons = self.consumers[c]
        req = self.request('DELETE', '/allocations/%s' % c, self.ver(0),
                           op='delete_allocs')

        def on(req, ans):
            if ans.status in (204, 404):
                self.mark_dirty(list(cons.allocs))
                cons.allocs, cons.exists, cons.gen, cons.dirty = {}, False, None, False
        return Step(req, on, (list(cons.allocs), [c]))

    def op_get_rp_allocs(self):
        u = self.some_rp(0.05)
        req = self.request('GET', self.rp_path(u, '/allocations'), self.ver(0),
                           op='get_rp_allocs')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict) and u in self.providers:
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    self.providers[u].gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return Step(req, on)

    def op_rp_usages(self):
        u = self.some_rp(0.05)
        req = self.request('GET', self.rp_path(u, '/usages'), self.ver(0),
                           op='rp_usages')

        def on(req, ans):
            if ans.status == 200 and isinstance(ans.json, dict) and u in self.providers:
                if isinstance(ans.json.get('resource_provider_generation'), int):
                    self.providers[u].gen = ans.json['resource_provider_generation']
                    self.dirty.discard(u)
        return Step(req, on)

    def op_usages(self):
        minor = self.ver(9)
        q = []
        if not self.chance(0.04):
            q.append(('project_id', self.pick(PROJECTS + ['00000000-0000-0000-0000-000000000000'])))
        if self.chance(0.4):
            q.append(('user_id', self.pick(USERS)))
        if minor >= 38 and self.chance(0.5) or self.chance(0.03):
            q.append(('consumer_type', self.pick(CONSUMER_TYPES + ['all', 'unknown', 'ALL',
                                                                   'bad-type'])))
        req = self.request('GET', '/usages', minor, query=q, op='usages')
        return Step(req)

    def op_reshaper(self):
        minor = self.ver(30)
        cands = [u for u, p in self.providers.items() if p.inv]
        if not cands:
            return None
        u = self.pick(cands)
        refresh = self.needs_fresh(u)
        if refresh:
            return refresh
        p = self.providers[u]
        holders = [c for c, x in self.consumers.items() if x.exists and u in x.allocs]
        for c in holders:
            if self.consumers[c].dirty:
                return self.refresh_consumer(c)
        invs = {u: {k: dict(v) for k, v in p.inv.items()}}
        kids = [k for k in self.descendants(u) if k in self.providers]
        moved = None
        if kids and self.chance(0.5):
            kid = self.pick(kids)
            refresh = self.needs_fresh(kid)
            if refresh:
                return refresh
            rc = self.pick(sorted(p.inv))
            invs[kid] = {k: dict(v) for k, v in self.providers[kid].inv.items()}
            if rc not in invs[kid]:
                invs[kid][rc] = invs[u].pop(rc)
                moved = (rc, kid)
        elif self.chance(0.5):
            rc = self.pick(sorted(p.inv))
            invs[u][rc]['total'] = invs[u][rc].get('total', 1) + self.pick([1, 10])
        inventories = {x: {'resource_provider_generation': self.gen_for(x),
                           'inventories': invs[x]} for x in invs}
        allocations = {}
        for c in holders[:2]:
            cons = self.consumers[c]
            new = {x: dict(res) for x, res in cons.allocs.items()}
            if moved and moved[0] in new.get(u, {}):
                amt = new[u].pop(moved[0])
                new.setdefault(moved[1], {})[moved[0]] = amt
                if not new[u]:
                    del new[u]
            entry = {'allocations': {x: {'resources': res} for x, res in new.items()},
                     'project_id': cons.project or self.pick(PROJECTS),
                     'user_id': cons.user or self.pick(USERS),
                     'consumer_generation': cons.gen}
            if minor >= 38:
                entry['consumer_type'] = cons.ctype or 'INSTANCE'
            allocations[c] = entry
        body = {'inventories': inventories, 'allocations': allocations}
        req = self.request('POST', '/reshaper', minor, body=body, op='reshaper')
        touched_rps = sorted(set(invs) | {x for c in holders
                                          for x in self.consumers[c].allocs})

        def on(req, ans):
            if ans.status == 204:
                b = req.json_body()
                for x, d in b['inventories'].items():
                    if x in self.providers:
                        self.providers[x].inv = {k: dict(v) for k, v in d['inventories'].items()}
                self.on_alloc_write(b['allocations'], minor)
            self.mark_dirty(touched_rps, holders)
        return Step(req, on, (touched_rps, holders))

    # ----- allocation candidates -----------------------------------------

    def op_candidates(self):
        minor = self.ver(10) if self.chance(0.3) else self.ver(25)
        q = []
        rcs = self.candidate_pool()
        amounts = (1, 1, 1, 1, 2, 2, 4, 64)
        suffixes = []
        unnumbered = True
        if minor >= 25 and self.chance(0.45):
            n = self.rng.randint(1, 3)
            for i in range(n):
                if minor >= 33 and self.chance(0.3):
                    s = self.pick(['_NET', 'compute', 'A-b_9', 'x' * 64])
                    if s in suffixes:
                        continue
                else:
                    s = str(i + 1)
                suffixes.append(s)
            unnumbered = self.chance(0.7)
        if unnumbered:
            q.append(('resources', self.resources_value(minor, rcs, amounts)))
        resourceless = []
        for s in suffixes:
            if minor >= 36 and len(suffixes) > 1 and self.chance(0.15):
                resourceless.append(s)
                q.append(('required' + s, self.required_value(minor)))
                continue
            q.append(('resources' + s, '%s:%d' % (self.pick(rcs), self.pick(amounts))))
            if self.chance(0.2):
                q.append(('required' + s, self.required_value(minor)))
            if self.chance(0.1):
                q.append(('member_of' + s, self.member_of_value(minor)))
            if minor >= 31 and self.chance(0.1):
                q.append(('in_tree' + s, self.some_rp(0.1) or self.new_uuid()))
        numbered = [s for s in suffixes if s not in resourceless]
        if len(numbered) > 1 and not self.chance(0.08):
            q.append(('group_policy', self.pick(['none', 'isolate'])))
        elif len(numbered) == 1 and self.chance(0.5):
            q.append(('group_policy', self.pick(['none', 'isolate'])))
        if minor >= 17 and unnumbered and self.chance(0.2):
            for _ in range(2 if minor >= 39 and self.chance(0.2) else 1):
                q.append(('required', self.required_value(minor)))
        if minor >= 21 and unnumbered and self.chance(0.15):
            for _ in range(2 if minor >= 24 and self.chance(0.2) else 1):
                q.append(('member_of', self.member_of_value(minor)))
        if minor >= 31 and unnumbered and self.chance(0.15):
            q.append(('in_tree', self.some_rp(0.1) or self.new_uuid()))
        if minor >= 35 and self.chance(0.15):
            q.append(('root_required', self.required_value(minor, allow_any=False)))
        if minor >= 36 and len(suffixes) > 1 and (resourceless or self.chance(0.2)):
            q.append(('same_subtree', ','.join(self.sample(suffixes, self.rng.randint(2, len(suffixes))))))
        if minor >= 16 and self.chance(0.2):
            q.append(('limit', '1000'))
        r = self.rng.random()
        if r < 0.02:
            q.append(('resources', self.pick(['VCPU:0', 'VCPU', 'CUSTOM_NOPE:1', 'VCPU:-1',
                                              'VCPU:99999999999999999999'])))
        elif r < 0.03:
            q.append(('required', 'CUSTOM_NO_SUCH_TRAIT'))
        elif r < 0.04:
            q.append(('group_policy', 'bogus'))
        elif r < 0.05:
            q.append(('limit', self.pick(['0', '-1', 'x', ''])))
        elif r < 0.06:
            q.append(('resources_x', 'VCPU:1'))
        elif r < 0.065:
            q = [(k, v) for k, v in q if not k.startswith('resources')]
        self.pool_traits, self.pool_aggs = [], []
        req = self.request('GET', '/allocation_candidates', minor, query=q,
                           op='candidates')
        return Step(req)

    # ----- misc -----------------------------------------------------------

    def op_root(self):
        req = self.request('GET', '/', self.ver(0), op='root')
        return Step(req)

    def op_odd(self):
        u = self.some_rp(0.2) or self.new_uuid()
        method, path = self.pick([
            ('PATCH', '/resource_providers'), ('PUT', '/resource_providers'),
            ('DELETE', '/resource_providers'), ('POST', self.rp_path(u)),
            ('PUT', '/traits'), ('POST', '/traits/CUSTOM_X'),
            ('GET', '/allocations'), ('PUT', '/allocations'),
            ('DELETE', '/usages'), ('POST', '/allocation_candidates'),
            ('POST', self.rp_path(u, '/traits')), ('POST', self.rp_path(u, '/usages')),
            ('POST', self.rp_path(u, '/aggregates')), ('OPTIONS', '/'),
            ('GET', '/nope'), ('GET', self.rp_path(u, '/')), ('GET', '/resource_providers/'),
            ('GET', self.rp_path(u, '/nope')), ('POST', '/reshaper'),
            ('GET', '/reshaper'), ('DELETE', '/resource_classes'),
            ('PATCH', '/resource_classes/VCPU'), ('POST', self.rp_path(u, '/inventories/VCPU')),
            ('GET', '/placement'), ('HEAD', '/'),
        ])
        body = b'{}' if method in ('POST', 'PUT', 'PATCH') else None
        req = self.request(method, path, self.ver(0), body=body, op='odd')
        return Step(req)

    # ----- generic invalid variations --------------------------------------

    def maybe_mutate(self, step):
        if not self.chance(MUTATION_RATE):
            return
        req = step.req
        body = req.json_body()
        choices = ['bad_version', 'accept_html', 'accept_other', 'odd_method',
                   'non_admin', 'no_token']
        if req.body is not None:
            choices += ['bad_json', 'not_object', 'no_content_type', 'text_content_type',
                        'empty_body']
            if isinstance(body, (dict, list)) and body:
                choices += ['unknown_field', 'drop_field', 'wrong_type', 'wrong_type',
                            'long_value']
        if any(len(seg) == 36 and seg.count('-') == 4 for seg in req.path.split('/')):
            choices.append('malformed_uuid')
        m = self.pick(choices)
        req.mutation = m
        if m == 'bad_version':
            req.set_header('OpenStack-API-Version', self.pick([
                'placement 1.99', 'placement foo', 'placement 2.0', 'placement 1.100',
                'placement 0.9', 'placement 1.', 'placement', 'compute 1.5',
                'placement 1.5, placement 1.6', 'placement LATEST', 'placement 1.05']))
        elif m == 'non_admin':
            # noauth2: "user:project" is an ordinary member (policy 403s).
            req.set_header('X-Auth-Token', self.pick(['demo:demo-project', 'demo']))
        elif m == 'no_token':
            req.set_header('X-Auth-Token', None)
        elif m == 'accept_html':
            req.set_header('Accept', 'text/html')
        elif m == 'accept_other':
            req.set_header('Accept', self.pick(['application/xml', 'text/plain',
                                                'text/html, application/json;q=0.5',
                                                'application/*', '*/*;q=0']))
        elif m == 'odd_method':
            req.method = self.pick([m for m in ['PATCH', 'OPTIONS', 'HEAD', 'TRACE',
                                                'POST', 'PUT', 'DELETE', 'GET']
                                    if m != req.method])
        elif m == 'bad_json':
            req.body = self.pick([req.body[:max(1, len(req.body) // 2)], b'{"a": 1,}',
                                  b"{'a': 1}", b'\xff\xfe'])
        elif m == 'not_object':
            req.body = self.pick([b'[]', b'"x"', b'1', b'null', b'true'])
        elif m == 'no_content_type':
            req.set_header('Content-Type', None)
        elif m == 'text_content_type':
            req.set_header('Content-Type', self.pick(['text/plain', 'application/xml',
                                                      'application/json; charset=latin-1',
                                                      'APPLICATION/JSON']))
        elif m == 'empty_body':
            req.body = b''
        elif m == 'unknown_field':
            if isinstance(body, dict):
                body['bogus_field'] = 1
            else:
                body.append({'bogus': 1})
            req.body = json.dumps(body).encode()
        elif m == 'drop_field':
            if isinstance(body, dict):
                del body[self.pick(sorted(body))]
            else:
                body.pop()
            req.body = json.dumps(body).encode()
        elif m in ('wrong_type', 'long_value'):
            self.mutate_leaf(body, m == 'long_value')
            req.body = json.dumps(body).encode()
        elif m == 'malformed_uuid':
            segs = req.path.split('/')
            i = self.pick([i for i, s in enumerate(segs) if len(s) == 36 and s.count('-') == 4])
            segs[i] = self.pick(['not-a-uuid', segs[i].upper(), segs[i].replace('-', ''),
                                 segs[i][:-1], segs[i] + '0'])
            req.path = '/'.join(segs)

    def mutate_leaf(self, obj, long_value):
        """Replace one leaf value of OBJ in place (a different type, or a
        5000-character string)."""
        paths = []

        def walk(o, trail):
            if isinstance(o, dict):
                for k in sorted(o):
                    walk(o[k], trail + [k])
            elif isinstance(o, list):
                for i, v in enumerate(o):
                    walk(v, trail + [i])
            if trail:
                paths.append(trail)
        walk(obj, [])
        if long_value:
            strs = [t for t in paths if isinstance(self._get(obj, t), str)]
            paths = strs or paths
        if not paths:
            return
        trail = self.pick(paths)
        parent = self._get(obj, trail[:-1])
        old = parent[trail[-1]]
        if long_value:
            new = 'L' * 5000
        else:
            options = ['1', 1, 1.5, None, True, [], {}, 'x']
            new = self.pick([o for o in options if type(o) is not type(old)])
        parent[trail[-1]] = new

    @staticmethod
    def _get(obj, trail):
        for k in trail:
            obj = obj[k]
        return obj
