"""What is specific to one API, kept out of the generic pipeline.

One module per provider (:mod:`~rtk_task.providers.cloudflare` today). The generic modules
ask a provider for vendor facts (error envelopes, page parameter names, path forms, task ids)
instead of knowing them; a second API is a second module here.
"""
