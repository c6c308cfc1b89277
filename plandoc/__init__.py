"""The plan document: everything that reads a plan reads it through this package.

A plan is servestack's offline ``preview.json`` or the JSON of a real ``pulumi preview
--json``; CrossGuard hands the policy pack the same resources one by one. ``policies`` (the
pack), ``servestack.review`` (check, diff), ``servestack.preflight`` and the cost report all
read plans only through these modules, and this package imports nothing but ``components``
(the accelerator catalog, config defaults, KServe and rollout vocabulary), so the pack that
``pulumi preview --policy-pack`` loads never depends on the command-line tool.

Modules, from the bottom up:

- :mod:`.values`       unknown markers, ``dig``/``mapping``/``items``/``truthy``, JSON text, URN names
- :mod:`.tokens`       resource type tokens and step operations (``GONE_OPS``, ``CREATE_OPS``)
- :mod:`.shape`        what a document must look like before it is read
- :mod:`.document`     ``PlanDoc``: read a plan directory or preview JSON; stack and project from its URNs;
                       ``of_type``, ``created``
- :mod:`.accelerators` what means "an accelerator" in a plan (resource names, plugin charts), from the catalog
- :mod:`.pools`        node pools from node groups (``Pool``) and from ``servestack:nodePools`` with its defaults
- :mod:`.plugins`      device plugins (Helm releases, charts, DaemonSets) and their tolerations
- :mod:`.endpoints`    InferenceServices, predictors, accelerator demand per pool
- :mod:`.llm`          LLMInferenceServices: pool, accelerators per pod, pods (replicas x (1 + workers)), model
- :mod:`.rollouts`     where each endpoint's rollout stands: its rollout record, else config and labels
- :mod:`.placement`    where and on what each pool runs: types, max size, market, zones (preflight)
- :mod:`.models`       model URIs per endpoint, stable and candidate (preflight)
- :mod:`.cluster`      Kubernetes and add-on versions (preflight)
- :mod:`.network`      subnets and why each is public; the subnets of a node group
- :mod:`.iam`          the policy documents and managed policies each IAM role holds
- :mod:`.prices`       price tables by region (``data/prices-<region>.json``); none: "unknown", never another's
- :mod:`.allocatable`  what a node of an instance type offers to pods (Karpenter's reservations)
- :mod:`.demand`       every workload's pods at min and max and what each requests, per pool
- :mod:`.capacity`     the capacity model: per pool, demand and the nodes it needs at min and max (bin-packing)
- :mod:`.cost`         the estimated cost (floor, ceiling, bound), read from the capacity model
"""
