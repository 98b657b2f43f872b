"""Requests as the scenario builds them, and answers as a server gives them."""

import http.client
import json
import time
import urllib.parse


class Request:
    """One HTTP request of a scenario.

    `version` is the microversion the scenario meant (an int minor version,
    None when no header is sent, or the raw text of a malformed header);
    `op` names the operation that built it and `mutation` the invalid
    variation applied to it, if any.
    """

    def __init__(self, method, path, query=None, headers=None, body=None,
                 op='', minor=None):
        self.method = method
        self.path = path
        self.query = list(query or [])
        self.headers = list(headers or [])
        self.body = body            # bytes or None
        self.op = op
        self.minor = minor          # int minor version the body was built for
        self.mutation = None

    def url(self):
        if not self.query:
            return self.path
        return self.path + '?' + urllib.parse.urlencode(
            self.query, safe=':,!', quote_via=urllib.parse.quote)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_header(self, name, value):
        self.headers = [(k, v) for k, v in self.headers
                        if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))

    def json_body(self):
        if self.body is None:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def query_values(self, key):
        return [v for k, v in self.query if k == key]

    def copy(self):
        r = Request(self.method, self.path, self.query, self.headers,
                    self.body, self.op, self.minor)
        r.mutation = self.mutation
        return r

    def describe(self):
        lines = ['%s %s' % (self.method, self.url())]
        for k, v in self.headers:
            if k.lower() != 'x-auth-token':
                lines.append('  %s: %s' % (k, v))
        if self.body is not None:
            text = self.body.decode('utf-8', 'replace')
            if len(text) > 600:
                text = text[:600] + '...(%d bytes)' % len(self.body)
            lines.append('  body: ' + text)
        if self.mutation:
            lines.append('  (invalid variant: %s)' % self.mutation)
        return '\n'.join(lines)

    def to_dict(self):
        return {'method': self.method, 'url': self.url(),
                'headers': self.headers,
                'body': None if self.body is None
                else self.body.decode('utf-8', 'replace'),
                'op': self.op, 'mutation': self.mutation}


class Answer:
    """A server's response: status, headers (lower-case names; repeated
    headers joined with ', '), raw body, parsed JSON when it parses."""

    def __init__(self, status, headers, body, elapsed, error=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        self.error = error
        self.json = None
        if body:
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None

    @property
    def media_type(self):
        ct = self.headers.get('content-type')
        if ct is None:
            return None
        return ct.split(';')[0].strip().lower()

    @property
    def text(self):
        return (self.body or b'').decode('utf-8', 'replace')

    def error_detail(self):
        """The detail of a JSON error body, else None."""
        try:
            return self.json['errors'][0]['detail']
        except (TypeError, KeyError, IndexError):
            return None

    def error_code(self):
        try:
            return self.json['errors'][0].get('code')
        except (TypeError, KeyError, IndexError, AttributeError):
            return None

    def describe(self):
        if self.error:
            return 'no answer: %s' % self.error
        lines = ['%s' % self.status]
        for k in sorted(self.headers):
            if k in ('date', 'server', 'content-length',
                     'x-openstack-request-id', 'openstack-request-id',
                     'connection'):
                continue
            lines.append('  %s: %s' % (k, self.headers[k]))
        text = self.text
        if len(text) > 1200:
            text = text[:1200] + '...(%d bytes)' % len(self.body)
        if text:
            lines.append('  body: ' + text)
        return '\n'.join(lines)

    def to_dict(self):
        return {'status': self.status, 'headers': self.headers,
                'body': self.text, 'error': self.error}


def call(port, req, timeout=10.0):
    """Send REQ to 127.0.0.1:PORT; never raises for transport problems."""
    start = time.monotonic()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.putrequest(req.method, req.url(), skip_accept_encoding=True)
        for k, v in req.headers:
            conn.putheader(k, v)
        if req.body is not None:
            conn.putheader('Content-Length', str(len(req.body)))
        conn.endheaders(req.body)
        resp = conn.getresponse()
        body = resp.read()
        headers = {}
        for k, v in resp.getheaders():
            k = k.lower()
            headers[k] = v if k not in headers else headers[k] + ', ' + v
        return Answer(resp.status, headers, body, time.monotonic() - start)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, {}, b'', time.monotonic() - start,
                      error='%s: %s' % (type(exc).__name__, exc))
    finally:
        conn.close()
