import { describeAriPortContract } from './ari-port.contract';

describeAriPortContract('ari-client');
