"""HTTP: the FastAPI app. Step 4 serves inbound webhooks and WeCom callbacks; Step 8 adds the REST API."""

from qunyun.api.app import Services, create_app

__all__ = ["Services", "create_app"]
