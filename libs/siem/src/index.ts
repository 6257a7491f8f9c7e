export { SiemSettings, SIEM_DEFAULTS, loadSiemSettings } from './settings';
export { parseDestinationUrl, isLoopbackAddress, SPLUNK_HEC_EVENT_PATH } from './destination-url';
export { SecretBox, newSigningSecret } from './secret-box';
export { signBody, verifySignature, SIGNATURE_HEADER } from './signature';
export { mapEvent, toNative, toCef, toOcsf, dedupId } from './formats';
export { encodeBatch, EncodedBatch } from './encode';
export { SiemTransport, SiemDeliveryError, describeFailure } from './transport';
export {
  SiemDestinations,
  SiemDestinationView,
  CreateDestinationInput,
  SIEM_KINDS,
  SIEM_FORMATS,
  viewOf,
} from './destinations';
export { SiemDelivery, SiemDeliveryResult } from './delivery';
export { SiemModule } from './siem.module';
