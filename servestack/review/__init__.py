"""Reviewing plans: policy checks, infrastructure diffs and cost, offline.

Everything here reads a plan document (servestack's offline ``preview.json`` or the JSON of a
real ``pulumi preview --json``) through the plan document package, :mod:`plandoc`.
"""
