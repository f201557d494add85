/** The Settings page's integrations (issue 28): API keys, then webhook endpoints. */
import { ApiKeysPanel } from "./ApiKeysPanel";
import { WebhooksPanel } from "./WebhooksPanel";

export function IntegrationsView() {
  return (
    <div className="overview" data-testid="integrations-view">
      <ApiKeysPanel />
      <WebhooksPanel />
    </div>
  );
}
