#!/usr/bin/env node
// The sealsig-relay command: see `sealsig-relay --help`.
import "../dist/cli.js";
