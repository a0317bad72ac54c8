"""`insight-recall bench`: synthetic stores of chosen sizes, measured the way the bot uses them."""
