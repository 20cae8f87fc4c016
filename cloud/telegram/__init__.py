"""The customer's card in Telegram: each merchant's own bot (``bots``), its webhook and
long-poll loop (``webhook``, ``cli``), the dialogue (``dialogue``, ``views``) and the
merchant's API to set the bot up (``admin``)."""
