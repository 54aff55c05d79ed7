"""Attestation kinds as data (issue 19): a department's schema file, checked (`kinds.schema`), and the values of an
attestation checked against it (`kinds.values`). The schema files of the kinds the demo registers are in
`kinds/files/`. A leaf package: it imports only `errors`."""
