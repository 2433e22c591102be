import { describeAriPortContract } from './ari-port.contract';

describeAriPortContract('native');
