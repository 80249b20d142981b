from outrider.cli.root import main

raise SystemExit(main())
