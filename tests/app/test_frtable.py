"""French tables whose numbers stay numbers (numeric sort in st.dataframe)."""

import pandas as pd
from streamlit.testing.v1 import AppTest

from app_pages import frtable
from app_pages.frtable import Col

COLS = {"nom": Col("Nom"), "n": Col("Structures", "int"),
        "taux": Col("Pour 10 000 habitants", "dec", 1),
        "delta": Col("Évolution", "signed"), "flag": Col("Faible effectif", "bool")}


def _frame():
    return pd.DataFrame({"nom": ["a", "b", None], "n": [134, 3338, None],
                         "taux": [1234.56, 0.25, None], "delta": [3, -2, 0],
                         "flag": [True, False, None]})


def test_display_frame_keeps_numbers_and_writes_french_headers():
    out = frtable.display_frame(_frame(), COLS)
    assert list(out.columns) == ["Nom", "Structures", "Pour 10 000 habitants", "Évolution",
                                 "Faible effectif"]
    assert str(out["Structures"].dtype) == "Int64"
    assert str(out["Pour 10 000 habitants"].dtype) == "Float64"
    assert out["Structures"].sort_values().dropna().tolist() == [134, 3338]  # not "3 338" < "134"
    assert out["Faible effectif"].tolist() == ["Oui", "Non", "–"]
    assert out["Nom"].tolist() == ["a", "b", "–"]


def test_the_formats_users_read():
    assert frtable._formatter(COLS["taux"])(1234.56) == "1\u00a0234,6"
    assert frtable._formatter(COLS["delta"])(3) == "+3"
    assert frtable._formatter(COLS["delta"])(-2) == "\u22122"
    assert frtable._formatter(COLS["delta"])(0) == "0"  # no sign, no arrow for no change
    assert frtable._formatter(Col("Part", "pct", 1))(12.34) == "12,3\u00a0%"
    assert frtable.INTEGER_FORMAT == "%'\u00a0,d"  # sprintf-js: no-break space thousands


def _page():
    import pandas as pd

    from app_pages import frtable
    from app_pages.frtable import Col

    frame = pd.DataFrame({"nom": ["a", "b"], "n": [134, 3338], "taux": [1234.56, 0.25]})
    frtable.show(frame, {"nom": Col("Nom"), "n": Col("Structures", "int"),
                         "taux": Col("Taux", "dec", 1)}, key="t")


def test_streamlit_receives_numbers_and_french_display_texts():
    at = AppTest.from_function(_page).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert shown["Structures"].tolist() == [134, 3338]
    assert shown["Taux"].tolist() == [1234.56, 0.25]
    import json

    import pyarrow as pa

    proto = at.dataframe[0].proto
    config = json.loads(proto.columns)  # column_config travels as JSON
    # whole numbers: the printf format with no-break spaces, the same in every browser
    assert config["Structures"]["type_config"]["format"] == "%'\u00a0,d"
    styler = proto.arrow_data.styler if proto.HasField("arrow_data") else proto.styler
    display = pa.ipc.open_stream(styler.display_values).read_all().to_pandas()
    assert "1\u00a0234,6" in display.to_numpy().ravel().tolist()
