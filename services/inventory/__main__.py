from services.inventory.app import build

build().run()
