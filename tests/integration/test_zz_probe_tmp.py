from tests.integration.test_casework import *
def test_probe(client, db, anna):
    case = make_case(anna, CM)
    partner = add_partner(anna, "Jobcenter Münster", "sgb_ii")
    r = post(client, case.id, "referrals", "referral", partner_id=str(partner.id), referred_on=iso(0), purpose="x", passes_data="y")
    print([l for l in r.get_data(as_text=True).splitlines() if "passes_data" in l])
