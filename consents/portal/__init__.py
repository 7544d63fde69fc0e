"""The data subject's portal: server-rendered pages over consents services."""
