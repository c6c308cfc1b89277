"""Issue 22, class 4 (and 6's LLM minimum): organisation allow-lists and the tier bound to the stack.

Each fault goes in through prod's stack config, the way a pull request would bring it, and servestack
plans it; prod's own policy config (policies/config/prod.json) judges the plan.
"""

from __future__ import annotations

import json

from harness import plan_config, repository_plan, stack_config
from test_policies_faults import findings, prod_document

from plandoc.document import plan_from_document
from policies.rules import evaluate

RULES = ("org-allow-lists", "stack-tier-bound", "prod-endpoint-min-replicas")


def of(document, policy=None):
    return [(f[0], f[2], f[3]) for f in findings(document, policy) if f[0] in RULES]


def test_a_prod_plan_that_leaves_the_organisation_fails():
    config = stack_config("prod")
    endpoints = config["servestack:endpoints"]
    endpoints["anomaly"]["model"]["container"]["image"] = "docker.io/acme/anomaly-fpga:1.2.0"
    endpoints["chat"]["model"]["storageUri"] = "s3://other-team-models/models/chat/2.5-7b-instruct-awq"
    endpoints["summarize"]["logger"]["url"] = "https://collector.example.com/events"
    config["servestack:llmEndpoints"]["assistant"]["model"]["uri"] = "s3://acme-ml-models-dev/models/assistant/2.5-32b-instruct"
    config["servestack:llmEndpoints"]["assistant"]["replicas"] = 1
    config["servestack:cluster"]["adminRoleArns"].append("arn:aws:iam::999999999999:role/contractor-admin")
    assert of(plan_config(config, "prod").document) == [
        ('org-allow-lists', 'servestack-cluster-admin-999999999999-contractor-admin',
         'names AWS account 999999999999, which is not a trusted account (123456789012); add it to org-allow-'
         'lists.trustedAccounts after review'
        ),
        ('org-allow-lists', 'servestack-cluster-admin-999999999999-contractor-admin',
         'names AWS account 999999999999, which is not a trusted account (123456789012); add it to org-allow-'
         'lists.trustedAccounts after review'
        ),
        ('org-allow-lists', 'servestack-llm-assistant-llmisvc',
         'spec.model.uri s3://acme-ml-models-dev/models/assistant/2.5-32b-instruct is outside the allowed '
         'model storage (s3://acme-ml-models-prod/models/); add its bucket/prefix (or hf://<org>/) to org-'
         'allow-lists.modelStorage after review'
        ),
        ('org-allow-lists', 'servestack-endpoint-anomaly-isvc',
         'spec.predictor.containers[0].image docker.io/acme/anomaly-fpga:1.2.0 comes from docker.io, outside '
         'the allowed registries (123456789012.dkr.ecr.us-east-1.amazonaws.com, curlimages/curl:); add the registry to org-'
         'allow-lists.registries after review'
        ),
        ('org-allow-lists', 'servestack-endpoint-chat-isvc',
         'spec.predictor.model.storageUri s3://other-team-models/models/chat/2.5-7b-instruct-awq is outside '
         'the allowed model storage (s3://acme-ml-models-prod/models/); add its bucket/prefix (or hf://<org>/)'
         ' to org-allow-lists.modelStorage after review'
        ),
        ('org-allow-lists', 'servestack-endpoint-summarize-isvc',
         'spec.predictor.logger.url https://collector.example.com/events sends every request and response '
         'outside the cluster to a host not in org-allow-lists.loggerEndpoints (none)'
        ),
        ('prod-endpoint-min-replicas', 'servestack-llm-assistant-llmisvc',
         "spec.replicas is 1 on a prod LLM endpoint; required: at least 2, so that one pod's restart or node's"
         ' loss does not take the model offline'
        ),
    ]


def test_a_prod_stack_switched_to_dev_fails_its_binding():
    config = stack_config("prod")
    config["servestack:tier"] = "dev"
    document = plan_config(config, "prod").document
    assert of(document) == [
        ('stack-tier-bound', '',
         "the stack's tier is dev (from servestack:tier) but its policy config binds it to prod; required: "
         'servestack:tier prod, because the tier turns rules on and off (a prod stack checked as dev skips '
         'every prod rule)'
        ),
    ]


def test_staging_and_prod_need_their_lists_and_dev_enforces_what_it_sets():
    plan = plan_from_document(repository_plan("staging").document)
    required = {"org-allow-lists": {"requiredIn": ["staging", "prod"]}}
    found = [(v.rule, v.message.split(";")[0]) for v in evaluate(plan.resource_list(), required, plan.config, plan.stack)
             if v.rule in RULES]
    assert found == [(
        "org-allow-lists", f"the policy config sets no {name} allow-list for this staging stack")
        for name in ("modelStorage", "registries", "trustedAccounts")]
    dev = plan_from_document(repository_plan("dev").document)
    narrow = {"org-allow-lists": {"modelStorage": ["s3://acme-ml-models-dev/models/iris/"]}}
    assert [(v.urn.rsplit("::", 1)[-1], v.message.split(";")[0]) for v in evaluate(dev.resource_list(), narrow, dev.config,
            dev.stack) if v.rule in RULES] == [
        ("servestack-llm-qwen-chat-llmisvc", "spec.model.uri s3://acme-ml-models-dev/models/qwen-chat/2.5-1.5b-instruct is "
         "outside the allowed model storage (s3://acme-ml-models-dev/models/iris/)"),
        ("servestack-endpoint-chat-isvc", "spec.predictor.model.storageUri s3://acme-ml-models-dev/models/chat/"
         "2.5-1.5b-instruct is outside the allowed model storage (s3://acme-ml-models-dev/models/iris/)")]
    assert [v for v in evaluate(dev.resource_list(), {}, dev.config, dev.stack) if v.rule in RULES] == []
