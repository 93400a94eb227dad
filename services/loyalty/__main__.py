from services.loyalty.app import build

build().run()
