from services.wallet.app import build

build().run()
