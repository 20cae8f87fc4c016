"""Administration: the platform operator creates merchants; a merchant's staff (merchant
key, role owner or manager) manage stores, terminals of every channel, their tokens and
the merchant's own keys. The API (``cloud.api.admin``) and the CLI (``cloud.main``) both
go through these functions, so they enforce the same rules."""
