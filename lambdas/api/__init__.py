"""Api stage runtime: the chat app (ASGI, uvicorn under the Lambda Web Adapter), its pipeline, stores, export."""
