"""How two answers to the same request are compared.

Everything the comparison forgives is decided in `normalise` (one
function, commented rule by rule); `compare` then demands equality of what
is left, field by field, and names each difference with a kind:

  transport  one side gave no answer (timeout, connection reset)
  status     status codes differ
  header     one of the compared headers differs
  body       the JSON bodies differ (for errors: status, title, code or
             any other member of the error object except detail)
  detail     only the human-readable text differs: an error's `detail`,
             or the whitespace-collapsed text of a non-JSON body

Known deviations (deviations.py) are applied afterwards, by the caller.
"""

import json
import re
import urllib.parse

# Headers never compared: per-request or per-server values.
IGNORED_HEADERS = {'x-openstack-request-id', 'openstack-request-id', 'date',
                   'server', 'content-length', 'connection',
                   'keep-alive', 'transfer-encoding'}


def _canon_number(v):
    # 1 and 1.0 are the same number (allocation_ratio is a float upstream).
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _dumps(v):
    return json.dumps(v, sort_keys=True, separators=(',', ':'))


def canon_json(obj, key=None):
    """Canonical form of a JSON value for comparison.

    `key` is the name of the member holding `obj`: the API leaves the order
    of some lists unspecified, and those are recognised by name.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k.endswith('_at'):
                # Timestamps: compared by presence only.
                out[k] = '<present>'
            elif key == 'mappings' and isinstance(v, list):
                # allocation_requests[].mappings: {suffix: [rp uuids]},
                # the list order is unspecified.
                out[k] = sorted(canon_json(x) for x in v)
            else:
                out[k] = canon_json(v, k)
        return out
    if isinstance(obj, list):
        items = [canon_json(x) for x in obj]
        if key in ('traits', 'aggregates'):
            # Sets of names / uuids (also provider_summaries[].traits).
            return sorted(items, key=_dumps)
        if key == 'resource_providers':
            return sorted(items, key=lambda p: (
                p.get('uuid', '') if isinstance(p, dict) else '', _dumps(p)))
        if key == 'resource_classes':
            return sorted(items, key=lambda c: (
                c.get('name', '') if isinstance(c, dict) else '', _dumps(c)))
        if key in ('allocation_requests', 'allocations'):
            # allocation_requests: a multiset of candidates, in whatever
            # order each implementation finds them. 'allocations' as a
            # list is the pre-1.12 candidate format, one entry per
            # provider in no particular order.
            return sorted(items, key=_dumps)
        return items
    return _canon_number(obj)


# Timestamps inside message text (upstream quotes SQL parameters, with
# created_at, in some 409 details): compared as a placeholder.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?")


# Upstream joins the providers without inventory from a Python set of
# uuid strings, whose order changes with the hash seed: compared sorted.
_MISSING_PROVIDERS = re.compile(r"(on resource provider ')([^']*, [^']*)(' invalid\.)")


def detail_text(text):
    if not isinstance(text, str):
        return text
    text = _MISSING_PROVIDERS.sub(
        lambda m: m.group(1) + ', '.join(sorted(m.group(2).split(', '))) + m.group(3), text)
    return _TIMESTAMP.sub('<timestamp>', text)


def collapse(text):
    return re.sub(r'\s+', ' ', text or '').strip()


_UUID_IN_TEXT = re.compile(
    r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')


def _generated_uuids_masked(details, req):
    """POST /resource_providers without a uuid: each server picks its own,
    and a failed create names it in the error (so it cannot be mapped like
    a successful one's). Uuids a detail shows that the request did not
    send are replaced by <generated-uuid>."""
    if req is None or req.method != 'POST' or req.path != '/resource_providers':
        return details
    body = req.json_body()
    if not isinstance(body, dict) or 'uuid' in body:
        return details
    sent = (req.body or b'').decode('utf-8', 'replace')
    return [_UUID_IN_TEXT.sub(lambda m: m.group(0) if m.group(0) in sent
                              else '<generated-uuid>', d)
            if isinstance(d, str) else d for d in details]


def normalise(ans, req=None):
    """Reduce an Answer to what must be equal on both sides.

    Returns a dict with:
      status   the status code
      headers  the compared headers, each reduced:
                 content-type    media type only (charset ignored)
                 openstack-api-version, cache-control   exact (lower-case)
                 vary            set of lower-case tokens
                 location        path part only (scheme/host/port differ)
                 allow           set of methods
                 last-modified   presence only (a timestamp)
               Ignored: request ids, date, server, content-length, and any
               header not listed above.
      body     the canonical JSON body (canon_json); for JSON error bodies
               ({"errors": [...]}) each error without `request_id` (differs
               per request) and without `detail` (compared separately).
               None for an empty body; for a non-JSON body the marker
               '<non-json>' (its text goes to `detail`).
      detail   the error details as a list of strings, exactly as sent but
               for timestamps (replaced by <timestamp>) and uuids a server
               generated itself (see _generated_uuids_masked); or
               for a non-JSON body, its text with whitespace collapsed.
    """
    h = ans.headers
    headers = {}
    if 'content-type' in h:
        headers['content-type'] = h['content-type'].split(';')[0].strip().lower()
    for name in ('openstack-api-version', 'cache-control'):
        if name in h:
            headers[name] = h[name].strip().lower()
    if 'vary' in h:
        headers['vary'] = sorted({t.strip().lower()
                                  for t in h['vary'].split(',') if t.strip()})
    if 'location' in h:
        headers['location'] = urllib.parse.urlsplit(h['location']).path
    if 'allow' in h:
        headers['allow'] = sorted({t.strip().upper()
                                   for t in h['allow'].split(',') if t.strip()})
    headers['last-modified'] = 'last-modified' in h

    body = None
    detail = None
    if ans.body:
        if ans.json is not None or ans.body.strip() in (b'null',):
            data = ans.json
            if isinstance(data, dict) and isinstance(data.get('errors'), list):
                errors = []
                details = []
                for e in data['errors']:
                    if isinstance(e, dict):
                        e = dict(e)
                        e.pop('request_id', None)
                        details.append(detail_text(e.pop('detail', None)))
                    errors.append(canon_json(e))
                body = dict(data, errors=errors)
                detail = _generated_uuids_masked(details, req)
            else:
                body = canon_json(data)
        else:
            body = '<non-json>'
            detail = _generated_uuids_masked([detail_text(collapse(ans.text))], req)[0]
    return {'status': ans.status, 'headers': headers, 'body': body,
            'detail': detail}


def compare(up, ours, req=None):
    """Differences between two Answers to REQ after normalisation.

    Returns a list of (kind, field, upstream value, our value).
    """
    if up.error or ours.error:
        if up.error and ours.error:
            return []
        return [('transport', 'answer', up.error or up.status,
                 ours.error or ours.status)]
    a, b = normalise(up, req), normalise(ours, req)
    diffs = []
    if a['status'] != b['status']:
        diffs.append(('status', 'status', a['status'], b['status']))
    for name in sorted(set(a['headers']) | set(b['headers'])):
        va, vb = a['headers'].get(name), b['headers'].get(name)
        if va != vb:
            diffs.append(('header', name, va, vb))
    if a['body'] != b['body']:
        diffs.append(('body', 'body', a['body'], b['body']))
    if a['detail'] != b['detail']:
        diffs.append(('detail', 'detail', a['detail'], b['detail']))
    return diffs


def short_diff(up_val, ours_val, limit=400):
    """A short human-readable account of how two values differ."""
    if isinstance(up_val, dict) and isinstance(ours_val, dict):
        parts = []
        for k in sorted(set(up_val) | set(ours_val), key=str):
            if up_val.get(k, '<absent>') != ours_val.get(k, '<absent>'):
                parts.append('%s: %s | %s' % (
                    k, _clip(up_val.get(k, '<absent>'), 160),
                    _clip(ours_val.get(k, '<absent>'), 160)))
        return '; '.join(parts)[:limit * 2]
    if isinstance(up_val, list) and isinstance(ours_val, list) \
            and all(isinstance(x, str) for x in up_val + ours_val) \
            and len(up_val) == len(ours_val) == 1:
        return _text_diff(up_val[0], ours_val[0], limit)
    if isinstance(up_val, str) and isinstance(ours_val, str):
        return _text_diff(up_val, ours_val, limit)
    return '%s | %s' % (_clip(up_val, limit), _clip(ours_val, limit))


def _text_diff(a, b, limit):
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    start = max(0, i - 40)
    return 'differ from char %d: upstream ...%r | ours ...%r' % (
        i, a[start:start + limit // 2], b[start:start + limit // 2])


def _clip(v, n):
    s = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[:n] + '...'
