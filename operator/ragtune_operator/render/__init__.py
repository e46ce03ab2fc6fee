"""Pure rendering: typed specs → plain dicts (Serve config, RayService, Service). No I/O."""
