"""Known, deliberate deviations from upstream Placement 16.0.0.

The one place where a disagreement may be excused. Each entry names a
deviation documented in docs/deviations.md and gives a predicate over
(request, upstream answer, our answer) that is true only when the
disagreement is that deviation: keep every predicate narrow (the specific
route, status pair and body shape), never a whole endpoint.

Requests and answers are http_io.Request / http_io.Answer objects; our
answer has already had server-generated uuids mapped to upstream's.
"""

import re

from compare import canon_json, compare, _dumps

MAX_I64 = 2 ** 63 - 1


class Deviation:
    def __init__(self, name, reason, predicate):
        self.name = name
        self.reason = reason
        self.predicate = predicate

    def matches(self, req, up, ours):
        try:
            return bool(self.predicate(req, up, ours))
        except Exception:           # a predicate must never break a run
            return False


def _diff_kinds(req, up, ours):
    return {(kind, field) for kind, field, _, _ in compare(up, ours, req)}


def _only(req, up, ours, *allowed):
    """True when every difference is one of ALLOWED (kind, field) pairs."""
    kinds = _diff_kinds(req, up, ours)
    return bool(kinds) and kinds <= set(allowed)


def _details(ans):
    try:
        return [e.get('detail') or '' for e in ans.json['errors']]
    except (TypeError, KeyError, AttributeError):
        return None


# ---------------------------------------------------------------------------

def _allow_outside_window(req, up, ours):
    # DELETE /resource_providers/{uuid}/inventories below 1.5 is the only
    # route upstream answers 405 from its microversion check.
    return (req.method == 'DELETE'
            and re.fullmatch(r'/resource_providers/[^/]+/inventories', req.path)
            and up.status == ours.status == 405
            and 'allow' not in up.headers and 'allow' in ours.headers
            and _only(req, up, ours, ('header', 'allow')))


def _allow_at_version(req, up, ours):
    # A method the route never serves: upstream's Allow lists every method
    # of the route, ours those served at the request's version.
    if not (up.status == ours.status == 405 and _only(req, up, ours, ('header', 'allow'))):
        return False
    split = lambda a: {m.strip().upper() for m in (a.headers.get('allow') or '').split(',') if m.strip()}
    theirs, mine = split(up), split(ours)
    return req.method.upper() not in theirs and mine and mine < theirs


def _huge_amount(req, up, ours):
    if req.path not in ('/allocation_candidates', '/resource_providers'):
        return False
    # Upstream fails only if it gets as far as the database with the
    # amount: where another group already leaves no candidate, it answers
    # an empty 200.
    empty = up.status == 200 and isinstance(up.json, dict) and up.json \
        and all(v in ([], {}) for v in up.json.values())
    if not ((up.status == 500 or empty) and ours.status == 400):
        return False
    for k, v in req.query:
        if k.startswith('resources'):
            for part in v.split(','):
                amount = part.rsplit(':', 1)[-1]
                if amount.lstrip('-').isdigit() and abs(int(amount)) > MAX_I64:
                    return True
    return False


def _requested(req):
    """{suffix: {rc: amount}} of an allocation-candidates query."""
    groups = {}
    for k, v in req.query:
        if k.startswith('resources'):
            res = {}
            for part in v.split(','):
                rc, _, amt = part.partition(':')
                res[rc] = int(amt)
            groups[k[len('resources'):]] = res
    return groups


def _candidate_sums(ans):
    out = []
    for ar in ans.json.get('allocation_requests', []):
        allocs = ar['allocations']
        items = allocs.values() if isinstance(allocs, dict) else allocs
        sums = {}
        for a in items:
            for rc, n in a['resources'].items():
                sums[rc] = sums.get(rc, 0) + n
        out.append(sums)
    return out


def _group_double_count(req, up, ours):
    if req.method != 'GET' or req.path != '/allocation_candidates':
        return False
    if not (up.status == ours.status == 200):
        return False
    if ('group_policy', 'none') in req.query:
        return False
    groups = _requested(req)
    unnumbered = groups.get('', {})
    shared = [rc for s, res in groups.items() if s for rc in res if rc in unnumbered]
    if not shared:
        return False
    want = {}
    for res in groups.values():
        for rc, n in res.items():
            want[rc] = want.get(rc, 0) + n
    # Ours: every candidate holds exactly what was asked.
    if any(s != want for s in _candidate_sums(ours)):
        return False
    # Upstream: some candidate over-counts a class both kinds of group ask
    # for (the documented symptom), or the answers differ only in the
    # candidate list (upstream's over-count failing a capacity check).
    up_sums = _candidate_sums(up)
    over = any(s.get(rc, 0) > want[rc] for s in up_sums for rc in shared)
    return over or _only(req, up, ours, ('body', 'body'))


_LONG_RUN = re.compile(r"(.)\1{4095,}", re.S)
_WS = re.compile(r'\s+')
_CUT = "<long>'..."


def _elided(up_text, ours_text):
    """True when OURS_TEXT is UP_TEXT with the printed form of some long
    client values cut: wherever ours shows <long>'... upstream shows the
    long value, its closing quote and possibly more (the rest of the value
    being printed, e.g. the other members of an instance), which ours
    leaves out."""
    parts = ours_text.split(_CUT)
    if len(parts) == 1:
        return up_text == ours_text
    if not up_text.startswith(parts[0]):
        return False
    pos = len(parts[0])
    for i, part in enumerate(parts[1:], 1):
        if not up_text.startswith("<long>'", pos):
            return False
        pos += len("<long>'")
        if i == len(parts) - 1:
            return up_text.endswith(part) and len(up_text) - len(part) >= pos
        found = up_text.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def _long_value_cut(req, up, ours):
    # The generator's long values are 5000 repeated characters: shown
    # whole upstream, cut after 4096 characters then "..." here.
    body = (req.body or b'').decode('utf-8', 'replace') + req.url()
    if not re.search(r'(.)\1{4095,}', body, re.S):
        return False
    if not _only(req, up, ours, ('detail', 'detail')):
        return False
    a, b = _details(up), _details(ours)
    if a is None or b is None or len(a) != len(b):
        return False
    # Schema messages may also wrap differently (next entry): whitespace
    # is left out of this comparison too.
    norm = lambda x: _WS.sub('', _LONG_RUN.sub('<long>', x))
    return all(_elided(norm(x), norm(y)) for x, y in zip(a, b))


def _schema_pretty_print(req, up, ours):
    # Validation messages (bodies: "JSON does not validate: ...", query
    # strings: "Invalid query string parameters: ..."): the pretty-printed
    # schema and instance after jsonschema's first line may be wrapped
    # differently. Equal once all whitespace is removed; any other
    # difference (a value printed differently) is not excused.
    if not (up.status == ours.status == 400 and _only(req, up, ours, ('detail', 'detail'))):
        return False
    a, b = _details(up), _details(ours)
    if not a or not b or len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if 'JSON does not validate: ' not in x \
                and 'Invalid query string parameters: ' not in x:
            return False
        if _WS.sub('', x) != _WS.sub('', y):
            return False
    return True


def _names_resolved_first(req, up, ours):
    if req.path != '/allocation_candidates' or req.method != 'GET':
        return False
    if not (up.status == 200 and ours.status == 400):
        return False
    if up.json.get('allocation_requests') != []:
        return False
    d = ' '.join(_details(ours) or [])
    return 'No such trait' in d or 'trait' in d.lower()


def _upstream_key_error(req, up, ours):
    # Upstream's candidates code looks a provider up by id in a dict that
    # lacks it and answers 500 with the bare key (an integer) as detail.
    if req.path != '/allocation_candidates' or req.method != 'GET':
        return False
    if not (up.status == 500 and ours.status == 200):
        return False
    details = _details(up) or []
    return len(details) == 1 and re.search(r'\s(\d+)\s*$', details[0]) is not None


SHARES = 'MISC_SHARES_VIA_AGGREGATE'


def _candidate_providers(ar):
    allocs = ar.get('allocations')
    return set(allocs) if isinstance(allocs, dict) else {a['resource_provider']['uuid'] for a in allocs}


def _sharing_under_every_anchor(req, up, ours):
    # Upstream keeps a sharing-only request of the unnumbered group under
    # one anchor tree alone: ours is upstream's answer plus candidates that
    # each use a sharing provider, with nothing else changed.
    if req.method != 'GET' or req.path != '/allocation_candidates':
        return False
    if not (up.status == ours.status == 200):
        return False
    if not any(re.fullmatch(r'(resources|required|member_of|in_tree)[A-Za-z0-9_-]+', k) for k, _ in req.query):
        return False
    if not _only(req, up, ours, ('body', 'body')):
        return False
    a, b = canon_json(up.json), canon_json(ours.json)
    if set(a) != set(b) or set(a) - {'allocation_requests', 'provider_summaries'}:
        return False
    # A limit that cut our answer may have cut the two differently; one
    # above it cut neither (upstream's is a subset of ours).
    if any(not v.isdigit() or int(v) <= len(b['allocation_requests']) for v in req.query_values('limit')):
        return False
    theirs = [_dumps(x) for x in a['allocation_requests']]
    mine = [_dumps(x) for x in b['allocation_requests']]
    extra = list(mine)
    for x in theirs:
        if x not in extra:
            return False
        extra.remove(x)
    sums_a, sums_b = a['provider_summaries'], b['provider_summaries']
    if not extra or any(sums_b.get(k) != v for k, v in sums_a.items()):
        return False
    sharing = {k for k, v in sums_b.items() if SHARES in (v.get('traits') or [])}
    used = set()
    for x in b['allocation_requests']:
        if _dumps(x) in extra:
            providers = _candidate_providers(x)
            if not providers & sharing:
                return False
            used |= providers
    # Summaries only ours has belong to the trees of the extra candidates'
    # providers (from 1.29 a summary covers each whole tree).
    roots = {(sums_b.get(p) or {}).get('root_provider_uuid') or p for p in used}
    in_trees = {k for k, v in sums_b.items() if (v.get('root_provider_uuid') or k) in roots}
    return set(sums_b) - set(sums_a) <= used | in_trees


def _duplicate_inventory_sql(req, up, ours):
    # Upstream's 409 for a class already in the inventory quotes the
    # database's IntegrityError (with its SQL); ours names the class.
    if req.method != 'POST' or not re.fullmatch(r'/resource_providers/[^/]+/inventories', req.path):
        return False
    if not (up.status == ours.status == 409 and _only(req, up, ours, ('detail', 'detail'))):
        return False
    a, b = _details(up), _details(ours)
    return (a is not None and b is not None and len(a) == len(b) == 1
            and 'Update conflict: (' in a[0] and 'IntegrityError' in a[0]
            and re.search(r"Update conflict: Inventory for '[A-Z0-9_]+' on resource provider '[^']+' already exists\.", b[0]))


def _loose_inventory_type_error(req, up, ours):
    # A key of PUT .../inventories that cannot be a class name escapes
    # upstream's schema; a record there that Python cannot add up (not an
    # object, a total that is not a number) is a TypeError, so a 500.
    if req.method != 'PUT' or not re.fullmatch(r'/resource_providers/[^/]+/inventories', req.path):
        return False
    if not (up.status == 500 and ours.status == 400):
        return False
    body = req.json_body()
    invs = body.get('inventories') if isinstance(body, dict) else None
    if not isinstance(invs, dict) or all(re.fullmatch(r'[A-Z0-9_]+', k) for k in invs):
        return False
    return any('Bad inventory ' in d for d in _details(ours) or [])


DEVIATIONS = [
    Deviation(
        'allow-outside-microversion-window',
        'A 405 for a method outside its microversion window carries Allow '
        '(docs/deviations.md, "A 405 for a method outside its microversion '
        'window"); upstream sends none there.',
        _allow_outside_window),
    Deviation(
        'allow-at-request-version',
        'A 405 for a method the route never serves lists in Allow the methods '
        'served at the request\'s version, as that version\'s OpenAPI document '
        'does; upstream lists every method of the route (docs/deviations.md, '
        '"A 405 for a method outside its microversion window").',
        _allow_at_version),
    Deviation(
        'huge-resource-amount',
        'An amount past a 64-bit integer is a 400 here; upstream on SQLite '
        'answers 500, or an empty 200 when another group already leaves no '
        'candidate (docs/deviations.md, "An amount past a 64-bit integer").',
        _huge_amount),
    Deviation(
        'group-amount-double-count',
        'Upstream over-counts when the unnumbered group and a numbered group '
        'ask for the same class and group_policy is absent or isolate; ours '
        'answers as with group_policy=none (docs/deviations.md, "A group\'s '
        'amount is never counted twice").',
        _group_double_count),
    Deviation(
        'long-value-cut-at-4096',
        'Error messages show at most 4096 characters of any client value, '
        'then "..." (docs/deviations.md, "Error messages show at most 4096 '
        'characters").',
        _long_value_cut),
    Deviation(
        'schema-message-wrapping',
        'Validation messages reproduce jsonschema\'s first line exactly; the '
        'pretty-printed schema after it may wrap differently '
        '(docs/deviations.md, "Validation messages for request bodies").',
        _schema_pretty_print),
    Deviation(
        'candidates-names-resolved-first',
        'Every trait name in a candidates request is resolved before '
        'searching, so an unknown one is a 400 even where upstream returns an '
        'empty answer (docs/deviations.md, "Every name in the request is '
        'resolved before searching").',
        _names_resolved_first),
    Deviation(
        'upstream-candidates-key-error',
        'Upstream answers some candidates requests with a sharing provider '
        'inside a tree with a 500 (a KeyError on a provider id); ours answers '
        'them (docs/deviations.md, "Upstream\'s 500 on some trees with a '
        'sharing provider").',
        _upstream_key_error),
    Deviation(
        'sharing-under-every-anchor',
        'A request of the unnumbered group made only of sharing providers is '
        'combined under every tree they share with; upstream keeps it under '
        'the first tree its set iteration meets (docs/deviations.md, "A group '
        'served only by sharing providers is offered under every tree they '
        'share with").',
        _sharing_under_every_anchor),
    Deviation(
        'duplicate-inventory-without-sql',
        'POST of an inventory whose class the provider already has is a 409 '
        'naming the class; upstream quotes the database\'s IntegrityError and '
        'its SQL (docs/deviations.md, "A '
        'duplicate inventory\'s 409").',
        _duplicate_inventory_sql),
    Deviation(
        'loose-inventory-record',
        'PUT .../inventories with a key that cannot be a class name and a '
        'record Python cannot compute a capacity from is a 400 "Bad '
        'inventory" here; upstream answers 500 (docs/deviations.md, "An '
        'inventory under a key that is no class name").',
        _loose_inventory_type_error),
]

# Not an entry: 403 detail wording. docs/deviations.md documents no
# difference there, and the policy refusals the scenario provokes (noauth2
# tokens without the admin role) agree word for word; a difference would be
# a bug to report, not to excuse.

# Documented deviations the comparison never sees, because normalise() in
# compare.py already ignores what differs. Listed so that this file stays
# the one inventory of what is forgiven.
HANDLED_BY_NORMALISATION = [
    ('updated-at-moves-on-frees',
     'A provider\'s updated_at (its Last-Modified) also moves when '
     'allocations leave it (docs/deviations.md); last-modified is compared '
     'by presence only.'),
    ('openstack-request-id-header',
     'Both x-openstack-request-id and openstack-request-id are sent '
     '(docs/deviations.md); request-id headers are not compared.'),
    ('compact-json',
     'JSON bodies are compact (docs/deviations.md); bodies are compared '
     'parsed, and content-length is not compared.'),
    ('candidates-order',
     'Allocation candidates come in a deterministic order of our own '
     '(docs/deviations.md, "Order is deterministic"); allocation_requests are '
     'compared as a multiset and object keys are unordered.'),
]
