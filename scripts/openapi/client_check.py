"""A client generated from a document by a third-party generator
(openapi-python-client) drives a live server: create a provider, set its
inventory, allocate against it, and ask for allocation candidates.

usage: client_check.py BASE_URL PACKAGE_DIR   (PACKAGE_DIR holds the generated
       `placement_client` package)
"""
import sys
import uuid

sys.path.insert(0, sys.argv[2])

from placement_client import AuthenticatedClient  # noqa: E402
from placement_client.api.allocation_candidates import list_allocation_candidates  # noqa: E402
from placement_client.api.allocations import list_consumer_allocations, put_consumer_allocations  # noqa: E402
from placement_client.api.inventories import replace_inventories  # noqa: E402
from placement_client.api.resource_providers import create_resource_provider, show_resource_provider  # noqa: E402
from placement_client.models import (  # noqa: E402
    CandidatesBody,
    ConsumerAllocationsBody,
    CreateResourceProviderBody,
    InventoriesBody,
    ListAllocationCandidatesGroups,
    ProviderBody,
    PutConsumerAllocationsBody,
    ReplaceInventoriesBody,
)

client = AuthenticatedClient(base_url=sys.argv[1], token="admin", prefix="", auth_header_name="X-Auth-Token")
rp = uuid.uuid4()
consumer = uuid.uuid4()

created = create_resource_provider.sync(client=client, body=CreateResourceProviderBody.from_dict(
    {"name": "generated-client", "uuid": str(rp)}))
assert isinstance(created, ProviderBody) and created.uuid == str(rp), created

shown = show_resource_provider.sync(str(rp), client=client)
assert isinstance(shown, ProviderBody) and shown.generation == 0, shown

inventories = replace_inventories.sync(rp, client=client, body=ReplaceInventoriesBody.from_dict({
    "resource_provider_generation": 0,
    "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}},
}))
assert isinstance(inventories, InventoriesBody), inventories
assert inventories.inventories.to_dict()["VCPU"]["total"] == 8, inventories

answer = put_consumer_allocations.sync_detailed(str(consumer), client=client, body=PutConsumerAllocationsBody.from_dict({
    "allocations": {str(rp): {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}},
    "project_id": "p", "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE",
}))
assert answer.status_code == 204, (answer.status_code, answer.content)

held = list_consumer_allocations.sync(str(consumer), client=client)
assert isinstance(held, ConsumerAllocationsBody) and held.consumer_generation == 1, held

candidates = list_allocation_candidates.sync(
    client=client, groups=ListAllocationCandidatesGroups.from_dict({"resources": "VCPU:4,MEMORY_MB:1024"}))
assert isinstance(candidates, CandidatesBody), candidates
requests = candidates.allocation_requests
assert len(requests) == 1 and str(rp) in requests[0].allocations.to_dict(), candidates
summary = candidates.provider_summaries.to_dict()[str(rp)]
assert summary["resources"]["VCPU"] == {"capacity": 8, "used": 2}, summary
print("client-check: a generated client created a provider, set inventory, allocated and found candidates")
