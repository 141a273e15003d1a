"""linli's web side, beside the bot: what city systems and officials reach over HTTP."""
