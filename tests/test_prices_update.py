"""`servestack prices update --region R` against botocore Stubbers answering in the Price List API's own shape
(PriceList entries are JSON strings of product, serviceCode and terms, as GetProducts returns them)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from plandoc.prices import table_of
from servestack.cli import cli

STACK = """config:
  aws:region: eu-west-1
  servestack:nodePools:
    system: {instanceTypes: [m7i.large], minSize: 2}
    gpu: {instanceTypes: [g6.xlarge], maxSize: 3, capacityType: spot}
"""


def product(sku: str, attributes: dict, usd: str, unit: str = "Hrs") -> str:
    """One PriceList entry as GetProducts returns it: a JSON string."""
    return json.dumps({
        "product": {"productFamily": attributes.pop("productFamily", "Compute Instance"), "sku": sku,
                    "attributes": attributes},
        "serviceCode": attributes.get("servicecode", "AmazonEC2"),
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {
            "offerTermCode": "JRTCKXETXF", "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                "unit": unit, "endRange": "Inf", "beginRange": "0", "appliesTo": [],
                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7", "description": f"${usd} per unit",
                "pricePerUnit": {"USD": usd}}}, "termAttributes": {}}}},
        "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z"})


def instance(sku: str, instance_type: str, usd: str) -> str:
    return product(sku, {"instanceType": instance_type, "regionCode": "eu-west-1", "operatingSystem": "Linux",
                         "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
                         "usagetype": f"EU-BoxUsage:{instance_type}", "vcpu": "4"}, usd)


def filters(**values: str) -> list[dict]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in values.items()]


LINUX = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}


@pytest.fixture
def stubbed():
    pricing = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ec2 = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(pricing) as p, Stubber(ec2) as e:
        yield pricing, ec2, p, e


def test_update_writes_the_regions_file_from_the_price_list(tmp_path: Path, stubbed):
    pricing, ec2, p, e = stubbed
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.ml-eu.yaml").write_text(STACK)
    (tmp_path / "stacks" / "Pulumi.us.yaml").write_text("config:\n  aws:region: us-east-1\n  servestack:nodePools:\n"
                                                       "    other: {instanceTypes: [p5.48xlarge]}\n")
    base = {"FormatVersion": "aws_v1", "MaxResults": 100}
    p.add_response("get_products", {"PriceList": [
        product("EKS1", {"productFamily": "Compute", "regionCode": "eu-west-1", "usagetype": "EU-AmazonEKS-Hours:perCluster",
                         "servicecode": "AmazonEKS"}, "0.1000000000"),
        product("EKS2", {"productFamily": "Compute", "regionCode": "eu-west-1",
                         "usagetype": "EU-AmazonEKS-Hours:extendedSupport", "servicecode": "AmazonEKS"}, "0.6000000000")],
        "FormatVersion": "aws_v1"}, {"ServiceCode": "AmazonEKS", "Filters": filters(regionCode="eu-west-1"), **base})
    p.add_response("get_products", {"PriceList": [
        product("NAT1", {"productFamily": "NAT Gateway", "regionCode": "eu-west-1", "usagetype": "EU-NatGateway-Bytes"},
                "0.0480000000", unit="GB"),
        product("NAT2", {"productFamily": "NAT Gateway", "regionCode": "eu-west-1", "usagetype": "EU-NatGateway-Hours"},
                "0.0480000000")], "NextToken": "page2"},
        {"ServiceCode": "AmazonEC2", "Filters": filters(regionCode="eu-west-1", productFamily="NAT Gateway"), **base})
    p.add_response("get_products", {"PriceList": []},
                   {"ServiceCode": "AmazonEC2", "Filters": filters(regionCode="eu-west-1", productFamily="NAT Gateway"),
                    "NextToken": "page2", **base})
    p.add_response("get_products", {"PriceList": [
        product("IP1", {"productFamily": "VPC Public IPv4 Address", "regionCode": "eu-west-1",
                        "usagetype": "EU-PublicIPv4:InUseAddress", "servicecode": "AmazonVPC"}, "0.0050000000")]},
        {"ServiceCode": "AmazonVPC", "Filters": filters(regionCode="eu-west-1"), **base})
    for instance_type, usd in (("g6.xlarge", "0.8928000000"), ("m7i.large", "0.1124000000")):
        p.add_response("get_products", {"PriceList": [instance(f"SKU-{instance_type}", instance_type, usd)]},
                       {"ServiceCode": "AmazonEC2", "Filters": filters(instanceType=instance_type, regionCode="eu-west-1",
                                                                       **LINUX), **base})
    e.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        {"AvailabilityZone": "eu-west-1a", "InstanceType": "g6.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.372100", "Timestamp": "2026-11-30T10:00:00Z"},
        {"AvailabilityZone": "eu-west-1b", "InstanceType": "g6.xlarge", "ProductDescription": "Linux/UNIX",
         "SpotPrice": "0.351900", "Timestamp": "2026-11-30T10:00:00Z"}]},
        {"InstanceTypes": ["g6.xlarge"], "ProductDescriptions": ["Linux/UNIX"], "MaxResults": ANY})
    clients = {"pricing": pricing, "ec2": ec2}
    result = CliRunner().invoke(cli, ["prices", "update", "--region", "eu-west-1", "--project", str(tmp_path)],
                                obj={"client_factory": lambda service, region: clients[service], "today": "2026-12-07"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = tmp_path / "plandoc" / "data" / "prices-eu-west-1.json"
    assert result.output == f"wrote {path}: 2 on-demand and 1 spot prices of 2026-12-07\n"
    data = json.loads(path.read_text())
    assert {k: data[k] for k in ("region", "date", "instances", "spot", "eksControlPlane", "natGateway",
                                 "publicIpv4Address")} == {
        "region": "eu-west-1", "date": "2026-12-07", "instances": {"g6.xlarge": 0.8928, "m7i.large": 0.1124},
        "spot": {"g6.xlarge": 0.3519}, "eksControlPlane": {"STANDARD": 0.1, "EXTENDED": 0.6},
        "natGateway": 0.048, "publicIpv4Address": 0.005}
    table = table_of(data)
    assert (table.instance("g6.xlarge", "SPOT"), table.instance("g6.xlarge"), table.market("g6.xlarge", "SPOT")) == (
        0.3519, 0.8928, "spot")
    p.assert_no_pending_responses()
    e.assert_no_pending_responses()


def test_update_refuses_a_bad_region_and_says_when_aws_fails(tmp_path: Path, stubbed):
    result = CliRunner().invoke(cli, ["prices", "update", "--region", "mars-1", "--project", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        2, "error: --region 'mars-1' is not an AWS region code (e.g. us-east-1, eu-west-1)\n")
    pricing, ec2, p, e = stubbed
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.ml-eu.yaml").write_text(STACK)
    p.add_client_error("get_products", "AccessDeniedException", "not authorized to perform: pricing:GetProducts")
    clients = {"pricing": pricing, "ec2": ec2}
    result = CliRunner().invoke(cli, ["prices", "update", "--region", "eu-west-1", "--project", str(tmp_path)],
                                obj={"client_factory": lambda service, region: clients[service], "today": "2026-12-07"})
    assert result.exit_code == 1
    assert result.output.startswith("error: AWS could not be asked for prices: An error occurred (AccessDeniedException)")
    assert not (tmp_path / "plandoc").exists()
