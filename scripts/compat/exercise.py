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
CONSUMER = "d6b3d6d8-0b1e-4c55-9f7e-2b35e0c9a333"
PROJECT = "d6b3d6d8-0b1e-4c55-9f7e-2b35e0c9a444"
CANDIDATE_QUERIES = [
    "resources=VCPU:1",
    "resources=VCPU:1,CUSTOM_COMPAT:1&required=CUSTOM_COMPAT_TRAIT",
    f"resources=VCPU:1&member_of={AGG}",
    "resources=VCPU:1&resources1=SRIOV_NET_VF:1&group_policy=none",
    "resources=VCPU:30",
]
HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39",
           "content-type": "application/json", "accept": "application/json"}


def call(base, method, path, body=None, version="1.39"):
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(HEADERS, **{"openstack-api-version": f"placement {version}"})
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
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
    expect(call(base, "PUT", f"/resource_providers/{CHILD}/inventories", {
        "resource_provider_generation": 0, "inventories": {"SRIOV_NET_VF": {"total": 4}}}), 200)
    expect(call(base, "PUT", f"/allocations/{CONSUMER}", {
        "allocations": {RP: {"resources": {"VCPU": 2, "CUSTOM_COMPAT": 1}}, CHILD: {"resources": {"SRIOV_NET_VF": 1}}},
        "project_id": PROJECT, "user_id": "compat-user", "consumer_generation": None,
        "consumer_type": "INSTANCE"}), 204)


def candidates(base, query):
    """An allocation candidates answer with every list in a fixed order."""
    answer = expect(call(base, "GET", f"/allocation_candidates?{query}"), 200)
    for req in answer["allocation_requests"]:
        req["mappings"] = {k: sorted(v) for k, v in req.get("mappings", {}).items()}
    answer["allocation_requests"].sort(key=lambda r: json.dumps(r, sort_keys=True))
    for summary in answer["provider_summaries"].values():
        summary["traits"] = sorted(summary.get("traits", []))
    return answer


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
    out["allocations"] = expect(call(base, "GET", f"/allocations/{CONSUMER}"), 200)
    out["provider_allocations"] = expect(call(base, "GET", f"/resource_providers/{RP}/allocations"), 200)
    # At 1.38 and later upstream's GET /usages fails on PostgreSQL (its
    # query groups by consumer type only); 1.9 is the form both serve.
    out["project_usages"] = expect(call(base, "GET", f"/usages?project_id={PROJECT}", version="1.9"), 200)
    out["candidates"] = {q: candidates(base, q) for q in CANDIDATE_QUERIES}
    return out


def main(writer, reader):
    write(writer)
    a, b = snapshot(writer), snapshot(reader)
    if a != b:
        sys.exit("servers disagree:\nwriter: %s\nreader: %s" % (json.dumps(a, indent=1), json.dumps(b, indent=1)))
    print("both servers report the same data")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
