"""`footfall report` renders every chart on hand-made data, offline."""

import base64
import io

import matplotlib.image
import numpy as np
from unit.test_analyst_data import DAY

from footfall.analyst.charts import CHARTS, catchment_matrix, daypart_profiles, hourly_profiles, zone_values
from footfall.analyst.report import load, write_report
from footfall.schemas import C


def test_report_renders_all_charts_with_suppressed_cells_apart_from_zero(handmade_day, tmp_path):
    data = load(handmade_day, DAY, None, 20)
    assert data.zone_set == "districts"  # the default when it exists

    values = zone_values(data).set_index(C.ZONE_ID)
    assert values.loc["01", "visitors"] == 70 and values.loc["01", "state"] == "published"
    assert values.loc["03", "state"] == "no data"
    female = hourly_profiles(data)["F"]
    assert female.loc[14, "25-34"] == 71 and female.loc[15, "25-34"] == 25
    assert np.isnan(female.loc[15, "35-44"])  # suppressed: a gap, not zero
    parts = daypart_profiles(data)["F"]  # Mitte's afternoon: (25-34, F) 35, (35-44, F) withheld
    assert parts.loc["afternoon", "25-34"] == 35 and np.isnan(parts.loc["afternoon", "35-44"])
    assert parts.loc["morning"].isna().all()
    # F-K's catchment (the only zone with one): home 02 48, 01 22, 03 and unknown withheld
    visitors, suppressed = catchment_matrix(data)
    assert list(visitors.index) == ["Friedrichshain-Kreuzberg"] and list(visitors.columns) == ["01", "02", "03",
                                                                                                 "unknown"]
    assert visitors.iloc[0, :2].tolist() == [22, 48] and visitors.iloc[0, 2:].isna().all()
    assert suppressed.iloc[0].tolist() == [False, False, True, True]

    page = write_report(data, tmp_path / DAY.isoformat())
    text = page.read_text()
    for name, title in CHARTS:
        png = page.parent / f"{name}.png"
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 200 and image.shape[1] > 200
        assert float(image[..., :3].std()) > 0.02, f"{name}.png looks blank"
        encoded = base64.b64encode(png.read_bytes()).decode()
        assert f'src="data:image/png;base64,{encoded}"' in text
        assert f'href="{name}.png"' in text and title in text
        embedded = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        assert embedded.shape == image.shape
    # suppressed shares of the districts: zone_hourly 3 of 7 cells, zone_hourly_total 1 of 4, zone_daily 2 of 5
    assert "<th>suppressed</th>" in text
    assert all(f"<td>{share}</td>" in text for share in ("42.9%", "25.0%", "40.0%"))
