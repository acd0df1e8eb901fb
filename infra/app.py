"""The AWS target as one CDK app: `make synth` (every size) or `npx cdk synth|deploy -c size=seed|10x|100x`.

Sizes come from infra/sizes.json, which `make capacity-plan` writes from the measured capacity plan
(docs/capacity.md); nothing here is sized by hand.
"""

from __future__ import annotations

from bfp_infra import platform

app = platform.app()
platform.build(app, app.node.try_get_context("size") or "seed")
app.synth()
