-- Revision 611cd6dffd7b: no schema change. The runner refuses to pass this
-- revision while a provider has no root_provider_id.
SELECT 1;
