"""The Discord front of insight-recall: client, one package per feature, views and rendering."""
