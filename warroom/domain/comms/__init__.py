"""Communications: message templates, the stakeholder plan, postmortem, runbooks, RACI."""
