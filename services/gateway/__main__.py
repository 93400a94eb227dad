from services.gateway.app import build

build().run()
