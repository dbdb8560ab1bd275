"""The policy pack that `pulumi preview --policy-pack policy` and `pulumi up` enforce."""
