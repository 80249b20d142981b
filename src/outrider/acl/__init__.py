"""Nomad's ACL system: the policy language, compiled ACLs, tokens, their state and resolution."""
