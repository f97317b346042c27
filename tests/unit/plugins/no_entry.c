/* A shared object that is not a lambda-mcp plugin: no lmcp_plugin_entry symbol. */
__attribute__((visibility("default"))) int not_a_plugin(void);
__attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }
