from services.memberships.app import build

build().run()
