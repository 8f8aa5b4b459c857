import OZGCore
