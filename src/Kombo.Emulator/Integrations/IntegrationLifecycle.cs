using Kombo.Emulator.Connect;
using Kombo.Emulator.Webhooks;

namespace Kombo.Emulator.Integrations;

/// <summary>
/// What happens to integrations and the webhook Kombo sends for each change. A change and its webhook are made under
/// one lock, so an integration's webhooks are queued in the order its changes happened.
/// </summary>
public sealed class IntegrationLifecycle(EmulatorState state, WebhookSender webhooks, TimeProvider time)
{
    private readonly Lock _gate = new();

    public Integration Create(string tool, string category, IntegrationEndUser endUser, string setupStatus)
    {
        lock (_gate)
        {
            var integration = state.AddIntegration(tool, category, endUser, setupStatus);
            webhooks.Send(WebhookTypes.IntegrationCreated, integration.Id, integration.Id, IntegrationCreatedData.For(integration));
            return integration;
        }
    }

    public Integration? Delete(string id)
    {
        lock (_gate)
        {
            if (!state.TryRemoveIntegration(id, out var integration))
            {
                return null;
            }

            webhooks.Send(WebhookTypes.IntegrationDeleted, id, id, IntegrationDeletedData.For(integration, time.GetUtcNow()));
            return integration;
        }
    }

    public Integration? ChangeState(string id, string newState, string? setupStatus, string? qaStatus)
    {
        lock (_gate)
        {
            var changed = state.UpdateIntegration(id, current => current with
            {
                State = newState,
                SetupStatus = setupStatus ?? current.SetupStatus,
                QaStatus = qaStatus ?? current.QaStatus,
            });
            if (changed is not null)
            {
                webhooks.Send(WebhookTypes.IntegrationStateChanged, id, id, IntegrationStateChangedData.For(changed, time.GetUtcNow()));
            }

            return changed;
        }
    }

    public void FlowFailed(ConnectLink link, string tool, string logUrl)
    {
        var request = link.Request;
        var endUser = new IntegrationEndUser(request.EndUserOrganizationName, request.EndUserEmail, request.EndUserOriginId);
        lock (_gate)
        {
            webhooks.Send(WebhookTypes.ConnectionFlowFailed, link.RelinkIntegrationId ?? $"link:{link.Token}", null,
                new ConnectionFlowFailedData(tool, request.IntegrationCategory, endUser, logUrl));
        }
    }
}
