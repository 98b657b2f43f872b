"""Write data through one Placement server and read it back through
another, comparing what each reports.

usage: exercise.py WRITER_URL READER_URL
"""
import json
import sys
import urllib.request

RP = "d6b3d6d8-0b1e-4c55-9f7e-2b35e0c9a111"
CHILD = "d6b3d6d8-0b1e-4c55-9f7e-2b35e0c9a222"
AGG = "5d8e5a2c-8b2f-4f39-8a3d-6a0d1d3e7f00"
HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39",
           "content-type": "application/json", "accept": "application/json"}


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=HEADERS)
    try:
        with urllib.request.urlopen(req) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def expect(result, status):
    if result[0] != status:
        sys.exit(f"expected {status}, got {result}")
    return result[1]


def write(base):
    expect(call(base, "PUT", "/resource_classes/CUSTOM_COMPAT"), 201)
    expect(call(base, "PUT", "/traits/CUSTOM_COMPAT_TRAIT"), 201)
    expect(call(base, "POST", "/resource_providers", {"uuid": RP, "name": "compat-root"}), 200)
    expect(call(base, "POST", "/resource_providers",
                {"uuid": CHILD, "name": "compat-child", "parent_provider_uuid": RP}), 200)
    gen = expect(call(base, "PUT", f"/resource_providers/{RP}/inventories", {
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 4.0},
                        "CUSTOM_COMPAT": {"total": 3, "reserved": 1}}}), 200)["resource_provider_generation"]
    gen = expect(call(base, "PUT", f"/resource_providers/{RP}/traits",
                      {"resource_provider_generation": gen,
                       "traits": ["CUSTOM_COMPAT_TRAIT", "HW_CPU_X86_AVX2"]}), 200)["resource_provider_generation"]
    expect(call(base, "PUT", f"/resource_providers/{RP}/aggregates",
                {"resource_provider_generation": gen, "aggregates": [AGG]}), 200)


def snapshot(base):
    """What both servers must agree on (ordering-insensitive)."""
    rps = expect(call(base, "GET", "/resource_providers"), 200)["resource_providers"]
    out = {"providers": sorted((p["uuid"], p["name"], p["generation"], p["parent_provider_uuid"],
                                p["root_provider_uuid"]) for p in rps)}
    out["inventories"] = expect(call(base, "GET", f"/resource_providers/{RP}/inventories"), 200)
    out["traits"] = sorted(expect(call(base, "GET", f"/resource_providers/{RP}/traits"), 200)["traits"])
    out["aggregates"] = expect(call(base, "GET", f"/resource_providers/{RP}/aggregates"), 200)["aggregates"]
    out["usages"] = expect(call(base, "GET", f"/resource_providers/{RP}/usages"), 200)
    classes = expect(call(base, "GET", "/resource_classes"), 200)["resource_classes"]
    out["custom_classes"] = sorted(c["name"] for c in classes if c["name"].startswith("CUSTOM_"))
    out["member_of"] = sorted(p["uuid"] for p in expect(
        call(base, "GET", f"/resource_providers?member_of={AGG}"), 200)["resource_providers"])
    return out


def main(writer, reader):
    write(writer)
    a, b = snapshot(writer), snapshot(reader)
    if a != b:
        sys.exit("servers disagree:\nwriter: %s\nreader: %s" % (json.dumps(a, indent=1), json.dumps(b, indent=1)))
    print("both servers report the same data")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
