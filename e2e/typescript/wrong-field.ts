// Must not compile: a field the narrowed event does not have. The contract
// test expects exactly this error, so it fails if the definitions stop
// catching it.
import type { WidgetEvent } from '../../web/static/adapter';

export function onEvent(event: WidgetEvent): string {
  if (event.type === 'rc-call-end-notify') {
    return event.call.callerNumber;
  }
  return '';
}
