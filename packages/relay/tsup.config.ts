import { packageBuild } from '../../tsup.package.ts';

// index: the library; cli: the `sealsig-relay` command (bin/sealsig-relay.js imports dist/cli.js).
export default packageBuild(['src/index.ts', 'src/cli.ts']);
